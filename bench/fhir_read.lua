-- wrk script of bench/fhir_read.py: GET /fhir/Patient/bench-<random n> with a bearer token.
-- Arguments (after "--"): token, number of patients. Prints one machine-readable summary line.

local token, patients
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  token = args[1]
  patients = tonumber(args[2])
  math.randomseed(os.time() * 100 + seed)
end

function request()
  local path = "/fhir/Patient/bench-" .. math.random(0, patients - 1)
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/fhir+json" })
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "WRK requests=%d seconds=%.3f p50_us=%d p99_us=%d max_us=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max, errors
  ))
end
