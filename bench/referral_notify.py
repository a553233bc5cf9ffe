"""Referral notification latency: from "request created" to "the routed specialist's websocket receives it".

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/referral_notify.py --rate 50 --seconds 60 --specialists 100 --workers 2

A scratch database is created and migrated; ``--specialists`` cardiologists connect to
``/ws/notifications/`` of a uvicorn-served hub; county doctors POST urgent chest-pain requests to
``/api/referrals/`` at ``--rate`` per second (open loop: a slow server does not slow the sender)
for ``--seconds``. Each request is routed to the least-loaded cardiologist, whose socket gets a
``referral.routed`` event. Latency is measured on the client from just before the POST to the
event's arrival, matched by referral id. With more than one worker process the channel layer
must be Redis (``REDIS_URL``), as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fhir_server import PYTHON, ROOT, machine, scratch_database  # noqa: E402


class Server:
    """``uvicorn hub.asgi:application`` as ``manage.py serve`` runs it, with a database pool per worker.

    Under ASGI every request runs in a thread of its own, so kept connections are never reused: without
    ``DATABASE_POOL_MAX`` each request opens a connection (a PostgreSQL backend fork), with it they are pooled.
    """

    def __init__(self, database_url: str, *, workers: int, port: int, pool: int, log_level: str = "WARNING"):
        self.database_url, self.workers, self.port, self.pool = database_url, workers, port, pool
        self.log_level = log_level

    def __enter__(self) -> Server:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DJANGO_SETTINGS_MODULE": "hub.settings.base",
            "DATABASE_POOL_MAX": str(self.pool),
            "LOG_LEVEL": self.log_level,
        }
        command = [
            PYTHON,
            "-m",
            "uvicorn",
            "hub.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        sys.exit("The server did not start")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its workers too (the server has a session of its own)


def prepare(database_url: str, *, specialists: int, doctors: int, patients: int) -> dict:
    code = (
        "from bench.referral_setup import setup\n"
        f"setup(specialists={specialists}, doctors={doctors}, patients={patients})\n"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_seconds(pid: int) -> float:
    """CPU time used by a process and its children (the uvicorn workers), from /proc."""
    total = 0.0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return total


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_to_end(coroutine):
    """``asyncio.run`` without waiting at the end for tasks that would not finish (sockets, abandoned requests)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        left = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.wait(left, timeout=5))
        loop.close()


def database_cpu(database: str) -> dict[int, float]:
    """CPU time of each PostgreSQL backend serving ``database`` (they run on the same machine)."""
    times = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f" {database} " not in (entry / "cmdline").read_bytes().decode(errors="replace"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Connections:
    """Keep-alive HTTP/1.1 connections written and read by hand (as ``bench/fhir_read.py`` does): the load
    generator shares the machine with the server, so it must cost little. At most ``limit`` at a time (more
    requests wait for one, as with httpx's pool before); a connection is reused once its answer has been read
    whole and only while the server keeps it (uvicorn closes one idle for 5 s); one whose request was abandoned
    is closed.
    """

    IDLE = 4.0  # seconds: older idle connections are closed rather than reused

    def __init__(self, host: str, port: int, limit: int = 200):
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(limit)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.IDLE and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        async with self.slots:
            reader, writer = await self._connection()
            done = False
            try:
                writer.write(
                    f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status, length, close = int(head[9:12]), 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection":
                        close = value.strip().lower() == b"close"
                answer = await reader.readexactly(length)
                done = not close
                return status, answer
            finally:
                if done:
                    self.idle.append((reader, writer, time.monotonic()))
                else:
                    writer.close()

    def close(self) -> None:
        for _reader, writer, _since in self.idle:
            writer.close()
        self.idle.clear()


async def listen(
    uri: str, token: str, arrivals: dict[int, float], ready: asyncio.Event, counter: list[int], closed: list[str]
):
    try:
        await _listen(uri, token, arrivals, ready, counter)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a socket lost during the run: its specialist's notifications cannot arrive
        closed.append(f"{type(exc).__name__}: {exc}"[:200])
    else:
        closed.append("closed by the server")


async def _listen(uri: str, token: str, arrivals: dict[int, float], ready: asyncio.Event, counter: list[int]):
    async with connect(
        uri,
        additional_headers={"Authorization": f"Bearer {token}"},
        origin="http://127.0.0.1",
        max_queue=None,
        compression=None,
    ) as socket:
        counter[0] += 1
        if counter[0] == counter[1]:
            ready.set()
        async for raw in socket:
            message = orjson.loads(raw)
            if message.get("event") == "referral.routed":
                arrivals.setdefault(message["referral"]["id"], time.perf_counter())


async def run(args, data: dict, port: int, server_pid: int, database: str) -> dict:
    arrivals: dict[int, float] = {}
    sent: dict[int, float] = {}
    post_latency: list[float] = []
    errors: list[str] = []
    ready = asyncio.Event()
    counter = [0, len(data["specialists"])]
    closed: list[str] = []
    uri = f"ws://127.0.0.1:{port}/ws/notifications/"
    listeners = []
    for n, token in enumerate(data["specialists"]):
        listeners.append(asyncio.create_task(listen(uri, token, arrivals, ready, counter, closed)))
        if n % 10 == 9:
            await asyncio.sleep(0.05)  # connect in small groups, as people sign in over time
    try:
        await asyncio.wait_for(ready.wait(), timeout=60)
    except TimeoutError:
        sys.exit(f"{counter[0]} of {counter[1]} sockets connected in 60 s; lost: {closed[:3]}")
    progress(f"{counter[1]} sockets connected")
    rng = random.Random(7)
    pool = Connections("127.0.0.1", port)

    async def create(n: int) -> None:
        body = orjson.dumps(
            {
                "kind": "consultation",
                "urgency": "urgent",
                "pathway": "chest_pain",
                "patient": rng.choice(data["patients"]),
                "clinical_question": f"胸痛2小时，心电图ST段抬高 #{n}",
                "consent": {"method": "written", "given_by": "patient"},
            }
        )
        token = data["doctors"][n % len(data["doctors"])]
        start = time.perf_counter()
        try:
            status, answer = await pool.post("/api/referrals/", body, token)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(type(exc).__name__)
            return
        post_latency.append(time.perf_counter() - start)
        if status != 201:
            errors.append(f"{status} {answer[:200]!r}")
            return
        sent[orjson.loads(answer)["id"]] = start

    async def offer(count: int) -> tuple[float, int]:
        """Send ``count`` requests at ``--rate``; wait at most ``--drain`` s after the last for the answers.

        Returns the seconds from the first request to the last answer and how many were still unanswered
        (cancelled, so that a server far behind still gives a result rather than none).
        """
        tasks = []
        began = time.perf_counter()
        for n in range(count):
            delay = began + n / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(create(n)))
        _done, pending = await asyncio.wait(tasks, timeout=args.drain)
        for task in pending:
            task.cancel()
        if pending:  # a cancelled request is not waited for long: the result matters more than its cleanup
            await asyncio.wait(pending, timeout=5)
        return time.perf_counter() - began, len(pending)

    progress("warming up")
    await offer(int(args.rate * args.warmup))  # both workers import, validate and connect once
    await asyncio.sleep(1)
    sent.clear(), post_latency.clear(), errors.clear()
    total = int(args.rate * args.seconds)
    progress(f"measuring: {total} requests at {args.rate:g}/s")
    cpu_before, wall_before, db_before = cpu_seconds(server_pid), time.perf_counter(), database_cpu(database)
    client_before = time.process_time()
    sending, unanswered = await offer(total)
    client_cpu = time.process_time() - client_before
    server_cpu = cpu_seconds(server_pid) - cpu_before
    db_after = database_cpu(database)
    database_seconds = sum(used - db_before.get(pid, 0.0) for pid, used in db_after.items())
    server_wall = time.perf_counter() - wall_before
    deadline = time.perf_counter() + args.drain  # notifications still on their way to the sockets
    while time.perf_counter() < deadline and any(i not in arrivals for i in sent):
        await asyncio.sleep(0.2)
    lost_sockets = list(closed)
    for listener in listeners:
        listener.cancel()
    await asyncio.wait(listeners, timeout=5)
    pool.close()
    latencies = [(arrivals[i] - sent[i]) * 1000 for i in sent if i in arrivals]
    return {
        "total": total,
        "created": len(sent),
        "received": len(latencies),
        "errors": errors,
        "unanswered": unanswered,
        "sending_seconds": sending,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "lost_sockets": lost_sockets,
        "database_cpu": database_seconds,
        "server_wall": server_wall,
        "latencies": latencies,
        "post": [x * 1000 for x in post_latency],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--specialists", type=int, default=100)
    parser.add_argument("--doctors", type=int, default=10)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=14, help="DATABASE_POOL_MAX per worker (0: no pool)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--server-log-level", default="WARNING", help="LOG_LEVEL of the server (INFO shows channel-layer drops)"
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=30,
        help="seconds to wait for answers, then for notifications, after the last request is sent",
    )
    args = parser.parse_args()
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        sys.exit("More than one worker needs REDIS_URL (the channel layer must be shared between processes).")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # killed (a time limit): still stop the server
    progress("scratch database")
    database_url = scratch_database()
    data = prepare(database_url, specialists=args.specialists, doctors=args.doctors, patients=args.patients)
    progress("starting the server")
    with Server(
        database_url, workers=args.workers, port=args.port, pool=args.pool, log_level=args.server_log_level
    ) as server:
        result = run_to_end(run(args, data, args.port, server.process.pid, urlsplit(database_url).path.lstrip("/")))
    latencies, post = result["latencies"], result["post"]
    layer = "Redis" if os.environ.get("REDIS_URL") else "in-memory"
    print(f"machine: {machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    print(
        f"server: uvicorn, {args.workers} worker(s), database pool {args.pool or 'off'}, channel layer {layer}; "
        f"{args.specialists} specialists connected"
    )
    print(
        f"requests: {result['created']}/{result['total']} created in {result['sending_seconds']:.1f} s "
        f"(offered {args.rate}/s, achieved {result['created'] / result['sending_seconds']:.1f}/s), "
        f"{result['received']} notifications matched, {len(result['errors'])} errors, "
        f"{result['unanswered']} unanswered after --drain {args.drain:g} s"
    )
    if result["created"]:
        print(
            f"server CPU (uvicorn workers): {1000 * result['server_cpu'] / result['created']:.1f} ms per request, "
            f"{100 * result['server_cpu'] / result['server_wall']:.0f} % of one core; "
            f"PostgreSQL: {1000 * result['database_cpu'] / result['created']:.1f} ms per request; "
            f"this client: {1000 * result['client_cpu'] / result['created']:.1f} ms per request, "
            f"{100 * result['client_cpu'] / result['server_wall']:.0f} % of one core"
        )
    if result["lost_sockets"]:
        print(f"{len(result['lost_sockets'])} sockets lost during the run, first:", result["lost_sockets"][:3])
    if result["errors"]:
        print("first errors:", result["errors"][:3])
    if latencies:
        print(
            f"create -> websocket (ms): p50 {statistics.median(latencies):.1f}  p95 {percentile(latencies, 95):.1f}  "
            f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}"
        )
        print(f"POST /api/referrals/ (ms): p50 {statistics.median(post):.1f}  p99 {percentile(post, 99):.1f}")


if __name__ == "__main__":
    main()
