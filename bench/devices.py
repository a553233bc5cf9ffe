"""Bedside devices benchmark: MQTT publish -> hub ingest -> viewer websocket, and the HL7 v2 / MLLP path.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub REDIS_URL=redis://127.0.0.1:6379/1 \\
    MQTT_URL=mqtt://127.0.0.1:1883 .venv/bin/python bench/devices.py --devices 200 --waves 20 --seconds 20

A scratch database (``<db>_devices_bench``, recreated) with ``--devices`` Patients at county A, each with a
monitor attached. Processes: ``manage.py devices_ingest`` (the MQTT subscriber on ``MQTT_URL`` and the MLLP
listener) and ``uvicorn hub.asgi:application`` (websockets), fanned out through Redis. The bench holds one
live websocket per patient (a platform operator's token) and publishes at QoS 1: each device's numerics at
1 Hz and, for ``--waves`` of them, an ECG lead at 250 samples/s in 0.25 s chunks; each device at its own
offset within the second (``--phase spread``, as free-running devices) or all in the same instant
(``--phase burst``, the worst case). Latency = the viewer's
clock at the frame minus the message's own time (set at publish; one machine, one clock). At the end the
ingest process is stopped (it writes its last per-minute summaries) and the summaries' counts are compared
with what was published. CPU per message: user+system time of the ingest and server processes over the
run, divided by the messages. Raw baseline in the same run: the same messages published with paho to a
plain paho subscriber on the same broker (publish -> subscribe latency). HL7 path: one MLLP connection
sending ORU^R01 back to back for ``--hl7-seconds``, each waiting for its ACK; baseline: an MLLP server in the
bench that answers each frame with a fixed ACK (no parsing, no database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.fhir_server import PYTHON, ROOT, machine  # noqa: E402

SETUP = """
from federation.sites.constants import SiteKind
from federation.sites.models import Site
from hub.accounts.constants import Role
from hub.accounts.models import User
from hub.accounts.services import api_token_create, user_create
from hub.devices.fhir import fhir_store
from hub.devices.services import device_bind_internal, device_register
from hub.notifications.events import notifications_muted
alliance, _ = Site.objects.get_or_create(code="alliance", defaults={"name": "Alliance", "kind": SiteKind.ALLIANCE})
site, _ = Site.objects.get_or_create(code="county-a", defaults={"name": "County A", "kind": SiteKind.COUNTY, "parent": alliance})
ids = []
with notifications_muted():
    for i in range(__N__):
        pid = fhir_store(resource={"resourceType": "Patient", "name": [{"text": f"bench {i}"}], "birthDate": "1960-01-01"}, owner="county-a")
        device = device_register(site=site, key=f"bench-{i:03d}")
        device_bind_internal(device=device, patient_ref=f"Patient/{pid}")
        ids.append(pid)
user = user_create(username="bench_operator", password=None, role=Role.SITE_ADMIN, site=alliance, display_name="Bench", is_superuser=True)
print(api_token_create(user=user, name="bench")[1])
print(" ".join(ids))
"""
COUNT = """
from django.db.models import Sum
from hub.devices.models import Summary, Rejection, Alarm
print(Summary.objects.filter(parameter="hr").aggregate(n=Sum("count"))["n"] or 0, Rejection.objects.count(), Alarm.objects.count())
"""


def scratch(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_devices_bench"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def django(code: str, env: dict) -> list[str]:
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr[-3000:])
    return out.stdout.strip().splitlines()


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def payloads(now: float, index: int, waves: bool, tick: int) -> list[tuple[str, dict]]:
    """What device ``index`` sends at this quarter-second ``tick``."""
    at = datetime.fromtimestamp(now, tz=UTC).isoformat()
    out = []
    if tick % 4 == 0:
        out.append(
            (
                "n",
                {
                    "time": at,
                    "numerics": [
                        {"code": "147842", "value": 70 + index % 20, "unit": "/min"},
                        {"code": "150456", "value": 97, "unit": "%"},
                    ],
                },
            )
        )
    if waves:
        out.append(("w", {"time": at, "waves": [{"code": "131330", "rate": 250, "time": at, "data": [0.1] * 62}]}))
    return out


@dataclass
class Scenario:
    """What the hub's run adds to the steady load: every ``alarm_every`` seconds one more device sends a critical
    heart rate (publish -> alarm frame at its viewer), and ``drop_devices`` lose their gateway's link from
    ``drop_from`` to ``drop_until`` seconds into the run: the gateway keeps their messages and sends them, with
    their own times, when the link is back (store and forward)."""

    alarm_every: float = 10.0
    alarm_sent: dict = field(default_factory=dict)  # device index -> publish time
    drop_devices: range = range(0)
    drop_from: float = 0.0
    drop_until: float = 0.0
    held: list = field(default_factory=list)
    late: int = 0
    started: float = 0.0

    def hold(self, i: int, now: float) -> bool:
        return i in self.drop_devices and self.drop_from <= now - self.started < self.drop_until

    def release(self, client) -> None:
        """What the gateway kept, in order, now that its link is back."""
        for topic, body in self.held:
            client.publish(topic, body, qos=1)
        self.late += len(self.held)
        self.held.clear()


def publish_loop(
    client,
    devices: int,
    waves: int,
    seconds: float,
    topic,
    sent: dict,
    phase: str = "spread",
    scenario: Scenario | None = None,
) -> None:
    """Each device's messages on its own clock: ``spread``, as free-running devices do, each at its own offset
    within the second (numerics) and the quarter second (waves); ``burst``, every device in the same instant
    (the worst case: the hub's latency then includes working through the burst)."""
    start = time.time()
    if scenario:
        scenario.started = start
    next_alarm = scenario.alarm_every if scenario else float("inf")
    tick = 0
    while time.time() - start < seconds:
        for i in range(devices):
            offset = 0.0 if phase == "burst" else 0.25 * i / devices
            due = start + tick * 0.25 + offset
            pause = due - time.time()
            if pause > 0.002:
                time.sleep(pause)
            now = time.time()
            if scenario and scenario.held and not scenario.hold(scenario.drop_devices[0], now):
                scenario.release(client)  # the link is back
            for kind, body in payloads(now, i, i < waves, tick + (0 if phase == "burst" else i % 4)):
                alarm = (
                    scenario
                    and kind == "n"
                    and now - start >= next_alarm
                    and i >= waves
                    and i not in scenario.alarm_sent
                    and i not in scenario.drop_devices
                )
                if alarm:
                    body["numerics"][0]["value"] = 180  # above the adult critical high (150/min)
                    next_alarm += scenario.alarm_every
                    scenario.alarm_sent[i] = now
                if scenario and scenario.hold(i, now):
                    scenario.held.append((topic(i), json.dumps(body)))
                else:
                    client.publish(topic(i), json.dumps(body), qos=1)
                sent[kind] = sent.get(kind, 0) + 1
        tick += 1
        time.sleep(max(0.0, start + tick * 0.25 - time.time()))
    if scenario:
        scenario.release(client)


def baseline(url: str, devices: int, waves: int, seconds: float, phase: str) -> dict:
    from hub.devices.ingest.mqtt import client_for

    latencies: list[float] = []
    sub, host, port = client_for(url, f"bench-raw-sub-{os.getpid()}")
    sub.on_message = lambda c, u, m: latencies.append(
        time.time() - datetime.fromisoformat(json.loads(m.payload)["time"]).timestamp()
    )
    sub.connect(host, port)
    sub.subscribe("benchraw/#", qos=1)
    sub.loop_start()
    pub, host, port = client_for(url, f"bench-raw-pub-{os.getpid()}")
    pub.connect(host, port)
    pub.loop_start()
    time.sleep(0.5)
    sent: dict = {}
    publish_loop(pub, devices, waves, seconds, lambda i: f"benchraw/{i}", sent, phase)
    time.sleep(2)
    pub.loop_stop()
    sub.loop_stop()
    return {
        "sent": sum(sent.values()),
        "received": len(latencies),
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
    }


async def viewers(
    base: str,
    token: str,
    patients: list[str],
    stop: asyncio.Event,
    latencies: list,
    counts: dict,
    scenario: Scenario | None = None,
):
    import websockets

    index = {pid: i for i, pid in enumerate(patients)}

    async def one(pid: str):
        uri = f"ws://{base}/ws/devices/patients/{pid}/"
        async with websockets.connect(
            uri, additional_headers={"Authorization": f"Bearer {token}", "Origin": "http://127.0.0.1"}, max_size=None
        ) as ws:
            counts["open"] += 1
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "alarm" and "hr" in frame.get("condition", ""):
                    counts.setdefault("alarms", {}).setdefault(pid, time.time())
                if frame.get("type") == "vitals" and scenario and scenario.hold(index[pid], frame["at"]):
                    counts["late_frames"] = counts.get("late_frames", 0) + 1  # held by the gateway: not timed
                    continue
                if frame.get("type") == "vitals":
                    latencies.append(time.time() - frame["at"])
                    counts.setdefault("timed", []).append((frame["at"], latencies[-1]))
                    counts["frames"] += 1

    results = await asyncio.gather(*(one(p) for p in patients), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        print(f"viewers: {len(errors)} failed, e.g. {errors[0]!r}")


def hl7_rate(port: int, seconds: float, devices: int) -> tuple[int, int, float]:
    from hub.devices.simulator import mllp_send, oru_message

    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = ok = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        answer = mllp_send(
            sock,
            oru_message(
                site="county-a",
                device=f"bench-{sent % devices:03d}",
                values={"hr": 72, "spo2": 97, "rr": 15},
                at=time.time(),
                control_id=f"B{sent}",
            ),
        )
        sent += 1
        ok += "MSA|AA" in answer
    elapsed = time.perf_counter() - start
    sock.close()
    return sent, ok, elapsed


def raw_mllp_rate(seconds: float) -> float:
    from hub.devices.simulator import mllp_send, oru_message

    ack = b"\x0bMSH|^~\\&|X|X|||20260101||ACK|1|P|2.6\rMSA|AA|1\r\x1c\x0d"

    async def handler(reader, writer):
        try:
            while True:
                await reader.readuntil(b"\x1c\x0d")
                writer.write(ack)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(handler, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    threading.Thread(target=loop.run_forever, daemon=True).start()
    sock = socket.create_connection(("127.0.0.1", port))
    sent, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        mllp_send(
            sock,
            oru_message(
                site="county-a", device="x", values={"hr": 72, "spo2": 97, "rr": 15}, at=time.time(), control_id="R"
            ),
        )
        sent += 1
    return sent / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--waves", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--hl7-seconds", type=float, default=10)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--mllp-port", type=int, default=25791)
    parser.add_argument(
        "--phase",
        choices=("spread", "burst"),
        default="spread",
        help="devices publish each at its own offset (spread, as real devices) or all at once (burst)",
    )
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL", "MQTT_URL"):
        if not os.environ.get(name):
            sys.exit(f"Set {name}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")
    url = scratch(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "HUB_DEVICES_MQTT_CLIENT_ID": f"bench-hub-{os.getpid()}",
    }
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    lines = django(SETUP.replace("__N__", str(args.devices)), env)
    token, patients = lines[-2], lines[-1].split()
    os.environ["DATABASE_URL"] = url
    import django as dj

    dj.setup()
    print(f"machine: {machine()}; load average before: {os.getloadavg()}")
    raw = baseline(os.environ["MQTT_URL"], args.devices, args.waves, args.seconds, args.phase)
    print(f"raw paho publish->subscribe: {raw}")

    ingest = subprocess.Popen(
        [PYTHON, "manage.py", "devices_ingest", "--mllp-port", str(args.mllp_port)], cwd=ROOT, env=env
    )
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "hub.asgi:application",
            "--port",
            str(args.port),
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the server answers, and the ingest has subscribed
        try:
            socket.create_connection(("127.0.0.1", args.port), timeout=1).close()
            socket.create_connection(("127.0.0.1", args.mllp_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    time.sleep(2)
    from hub.devices.ingest.mqtt import client_for

    latencies: list[float] = []
    counts = {"open": 0, "frames": 0}
    scenario = Scenario()
    if args.seconds >= 40 and args.devices >= 40:  # a 10 s link drop of a tenth of the devices, a third in
        first = args.devices // 2
        scenario.drop_devices = range(first, first + args.devices // 10)
        scenario.drop_from, scenario.drop_until = args.seconds / 3, args.seconds / 3 + 10
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    viewer_thread = threading.Thread(
        target=lambda: loop.run_until_complete(
            viewers(f"127.0.0.1:{args.port}", token, patients, stop, latencies, counts, scenario)
        ),
        daemon=True,
    )
    viewer_thread.start()
    time.sleep(3)
    pub, host, port = client_for(os.environ["MQTT_URL"], f"bench-gw-{os.getpid()}")
    pub.connect(host, port)
    pub.loop_start()
    cpu0 = cpu_seconds(ingest.pid) + cpu_seconds(server.pid)
    sent: dict = {}
    started = time.time()
    publish_loop(
        pub,
        args.devices,
        args.waves,
        args.seconds,
        lambda i: f"alliance/county-a/devices/bench-{i:03d}/vitals",
        sent,
        args.phase,
        scenario,
    )
    time.sleep(3)
    cpu1 = cpu_seconds(ingest.pid) + cpu_seconds(server.pid)
    loop.call_soon_threadsafe(stop.set)
    viewer_thread.join(5)
    pub.loop_stop()
    messages = sum(sent.values())
    print(
        f"hub: published {messages} ({sent}) in {time.time() - started - 3:.1f} s; viewers open {counts['open']}/{len(patients)}, "
        f"frames {counts['frames'] + counts.get('late_frames', 0)}; publish->viewer p50 {pct(latencies, 0.5):.1f} ms p95 {pct(latencies, 0.95):.1f} ms "
        f"p99 {pct(latencies, 0.99):.1f} ms; hub CPU {1000 * (cpu1 - cpu0) / max(messages, 1):.2f} ms per message"
    )
    # Where in the run the slow ones were: p99 per 5 s window of publish time.
    windows: dict[int, list[float]] = {}
    for at, latency in counts.get("timed", []):
        windows.setdefault(int((at - started) // 5), []).append(latency)
    print(
        "publish->viewer p99 per 5 s window: "
        + ", ".join(f"{5 * w}-{5 * w + 5} s {pct(v, 0.99):.0f} ms" for w, v in sorted(windows.items()))
    )
    seen = counts.get("alarms", {})
    alarm_latencies = [seen[patients[i]] - at for i, at in scenario.alarm_sent.items() if patients[i] in seen]
    print(
        f"alarms: {len(scenario.alarm_sent)} critical heart rates sent, {len(alarm_latencies)} alarm frames at their"
        f" viewers; publish->alarm frame max {1000 * max(alarm_latencies, default=float('nan')):.0f} ms"
        f" p50 {pct(alarm_latencies, 0.5):.0f} ms"
    )
    if scenario.drop_devices:
        print(
            f"link drop: {len(scenario.drop_devices)} devices' gateway offline {scenario.drop_until - scenario.drop_from:.0f} s;"
            f" {scenario.late} messages kept and sent late ({counts.get('late_frames', 0)} of their frames reached"
            " the viewers; they are in the summaries' count below)"
        )
    sent_hl7, ok, elapsed = hl7_rate(args.mllp_port, args.hl7_seconds, args.devices)
    print(
        f"HL7 v2/MLLP: {sent_hl7} messages, {ok} AA, {sent_hl7 / elapsed:.0f} messages/s with ACKs; raw MLLP echo {raw_mllp_rate(3):.0f}/s"
    )
    for process, grace in ((ingest, 30), (server, 15)):  # the ingest writes its last summaries as it stops
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
    hr, refused, alarms = (int(x) for x in django(COUNT, env)[-1].split())
    expected = sent.get("n", 0) + ok
    print(
        f"summaries: heart-rate values counted {hr} of {expected} published and acknowledged ({hr - expected:+d}); "
        f"refused {refused}; alarms {alarms}; load average after: {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
