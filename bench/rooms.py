"""Consultation rooms under load: message fan-out and join latency over the room's websocket.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/rooms.py --rooms 50 --participants 10 --rate 2 --seconds 60 --workers 2 \\
        --clients 2 --port 9650

A scratch database is created and migrated (<db>_fhir_bench); ``--rooms`` accepted consultations get their
rooms with ``--participants`` people each (a county doctor, the responsible cardiologist, invited experts).
The hub runs under uvicorn (``--workers``, Redis channel layer) with a Celery worker writing the chat's FHIR
Communications, as in production. Every participant connects to ``/ws/consultations/rooms/<id>/`` with a
bearer token, joins, and pings every 5 s like the browser. In each room a random participant sends a chat
message ``--rate`` times per second (open loop); every ``--presence-every`` seconds one participant toggles
its microphone (a presence change) and one reconnects (a new socket of the same tab: state with the log it
missed). Rooms are independent, as in a hospital: each room's people open their sockets at a random moment of
the ramp (``--ramp`` seconds, default one second per 50 sockets), and each room sends, toggles and pings on a
clock of its own (``--phase spread``, the default); ``--phase burst`` starts every room's clocks together, so
every room's message of each half second arrives in the same instant (the worst case, not a real load).
Measured on the clients (``--clients`` processes, one machine, one clock):

- message: from just before the send to its arrival on every *other* participant's socket (p50/p99/max);
- ack: from just before the send to the sender's ``ack`` (the message is in the room's log);
- join: from opening the socket to the room's first ``state`` frame: all of them, then apart the first joins
  (in the ramp, before the load starts) and the reconnects (a tab coming back under the load);
- missing: chat entries a participant never got, live, replayed after a reconnect or filled in (should be 0).

Like the browser, a participant that sees a gap in the room's sequence numbers asks for the log after 1.5 s
(``sync``): the channel layer delivers at most once, the room's log in the database is what is never lost.

``--quick`` runs 3 rooms of 4 for 8 s with one worker: proof that it works, not a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fhir_server import PYTHON, ROOT, machine, scratch_database  # noqa: E402
from bench.referral_notify import Server, cpu_seconds, percentile, progress, run_to_end  # noqa: E402


def prepare(database_url: str, *, rooms: int, participants: int) -> list[dict]:
    code = f"from bench.rooms_setup import setup\nsetup(rooms_count={rooms}, participants={participants})\n"
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"setting the rooms up failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["rooms"]


class Participant:
    """One browser tab: a socket, the chat entries it has seen, the join latencies it measured."""

    def __init__(self, uri: str, token: str, index: int, results: dict):
        self.uri, self.token, self.index, self.results = uri, token, index, results
        self.session = uuid.uuid4().hex
        self.socket = None
        self.seen: set[int] = set()
        self.last_seq = 0
        self.have: set[int] = set()  # every sequence number seen, to find gaps
        self.contiguous = 0  # every entry up to this one was seen
        self.gap_timer: asyncio.TimerHandle | None = None
        self.joined = asyncio.Event()
        self.reader: asyncio.Task | None = None
        self.muted = False
        self.opened = 0  # sockets this tab has opened: the first is a first join, the others reconnects

    async def open(self) -> None:
        started = time.perf_counter()
        self.joined.clear()
        self.opened += 1
        self.socket = await connect(
            self.uri,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            origin="http://127.0.0.1",
            max_queue=None,
            compression=None,
            open_timeout=30,
        )
        await self.socket.send(
            orjson.dumps(
                {"type": "join", "session": self.session, "since": self.last_seq or None, "device": {"kind": "pc"}}
            ).decode()
        )
        self.reader = asyncio.create_task(self.read(started))
        await asyncio.wait_for(self.joined.wait(), 30)

    async def read(self, started: float) -> None:
        socket = self.socket
        try:
            async for raw in socket:
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "state":
                    took = time.perf_counter() - started
                    self.results["join"].append(took)
                    self.results["first_join" if self.opened == 1 else "rejoin"].append(took)
                    for event in frame["events"]:
                        self.entry(event, replayed=True)
                    self.last_seq = max(self.last_seq, frame["room"]["seq"])
                    self.mark_up_to(frame["room"]["seq"])
                    self.joined.set()
                elif kind == "event":
                    self.entry(frame, replayed=False)
                elif kind == "events":
                    for event in frame["events"]:
                        self.entry(event, replayed=True, filled=True)
                elif kind == "ack":
                    sent_at = self.results["pending"].pop(frame.get("id"), None)
                    if sent_at is not None:
                        self.results["ack"].append(time.time() - sent_at)
                elif kind == "error":
                    self.results["errors"].append(frame.get("code"))
        except Exception as exc:  # a socket lost during the run
            if socket is self.socket:
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.results["errors"].append(f"{type(exc).__name__} {code}" if code else type(exc).__name__)

    def mark_up_to(self, seq: int) -> None:
        """The room's state frame brings the whole log up to ``seq`` (or says where it starts again)."""
        self.contiguous = max(self.contiguous, seq)

    def entry(self, event: dict, *, replayed: bool, filled: bool = False) -> None:
        self.last_seq = max(self.last_seq, event["seq"])
        self.have.add(event["seq"])
        while self.contiguous + 1 in self.have:
            self.contiguous += 1
        if self.last_seq > self.contiguous and self.gap_timer is None:
            self.gap_timer = asyncio.get_running_loop().call_later(1.5, self.fill_gap)
        if event["kind"] != "chat" or event["seq"] in self.seen:
            return
        self.seen.add(event["seq"])
        sent_at, sender = event["data"]["text"].split(" ", 1)
        if int(sender) == self.index:
            return
        if filled:
            self.results["filled"] += 1
        elif replayed:
            self.results["replayed"] += 1
        else:
            self.results["message"].append(time.time() - float(sent_at))
            self.results["message_at"].append(float(sent_at))

    def fill_gap(self) -> None:
        self.gap_timer = None
        if self.last_seq > self.contiguous and self.socket is not None:
            asyncio.ensure_future(self.send({"type": "sync", "since": self.contiguous}))

    async def send(self, frame: dict) -> None:
        try:
            await self.socket.send(orjson.dumps(frame).decode())
        except Exception as exc:
            self.results["errors"].append(f"send {type(exc).__name__}")

    async def reconnect(self) -> None:
        old, reader = self.socket, self.reader
        await old.close()  # the phone's signal is gone; the same tab comes back at once
        if reader:
            await asyncio.gather(reader, return_exceptions=True)
        await self.open()


async def room_load(room: dict, port: int, args, results: dict, start_at: float, sent: dict) -> list[Participant]:
    uri = f"ws://127.0.0.1:{port}/ws/consultations/rooms/{room['room']}/"
    people = [Participant(uri, token, n, results) for n, token in enumerate(room["tokens"])]
    rng = random.Random(room["room"])
    spread = args.phase == "spread"
    await asyncio.sleep(rng.uniform(0, args.ramp) if spread else 0)
    for person in people:
        await person.open()
        if spread:
            await asyncio.sleep(rng.uniform(0, 0.2))  # people come in one after another, not in one instant
    await asyncio.sleep(max(0.0, start_at - time.time()))
    begin = time.time()
    end = begin + args.seconds

    def phase(period: float) -> float:
        return rng.uniform(0, period) if spread else 0.0

    next_message = begin + phase(1 / args.rate)
    next_presence = begin + args.presence_every * (0.5 if spread else 1) + phase(args.presence_every)
    next_ping = begin + 5 * (0.5 if spread else 1) + phase(5)
    while time.time() < end:
        now = time.time()
        if now >= next_message:
            sender = rng.choice(people)
            text, client_id = f"{time.time():.6f} {sender.index}", uuid.uuid4().hex
            results["pending"][client_id] = time.time()
            await sender.send({"type": "chat", "id": client_id, "text": text})
            sent[room["room"]] += 1
            next_message += 1 / args.rate
        if now >= next_presence:
            person = rng.choice(people)
            person.muted = not person.muted
            await person.send({"type": "presence", "audio_muted": person.muted, "video_muted": False, "sources": []})
            await rng.choice(people).reconnect()
            next_presence += args.presence_every
        if now >= next_ping:
            for person in people:
                await person.send({"type": "ping", "t": now})
            next_ping += 5
        await asyncio.sleep(max(0.0, min(next_message, next_presence, next_ping) - time.time()))
    return people


async def client_main(rooms: list[dict], port: int, args, start_at: float) -> dict:
    results = {
        "message": [],
        "message_at": [],
        "ack": [],
        "join": [],
        "first_join": [],
        "rejoin": [],
        "errors": [],
        "replayed": 0,
        "filled": 0,
        "pending": {},
    }
    sent = {room["room"]: 0 for room in rooms}
    groups = await asyncio.gather(*(room_load(room, port, args, results, start_at, sent) for room in rooms))
    await asyncio.sleep(3)  # the last messages arrive
    missing = 0
    for people in groups:
        chat_seqs = set().union(*(p.seen for p in people))
        for person in people:
            missing += len(chat_seqs - person.seen)
            await person.socket.close()
    results["missing"] = missing
    results["unacknowledged"] = len(results.pop("pending"))
    results["sent"] = sum(sent.values())
    return results


async def raw_fanout(args, seconds: float) -> list[float]:
    """The baseline: the hub's Redis channel layer alone (no hub, no database) fanning the same rate of messages
    out to groups of the same size, from ``group_send`` to each member channel's ``receive``."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer = RedisPubSubChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix=f"bench-raw-{uuid.uuid4().hex[:8]}")
    rooms = [f"raw.{n}" for n in range(args.rooms)]
    members = {}
    for group in rooms:
        members[group] = [await layer.new_channel() for _ in range(args.participants - 1)]
        for channel in members[group]:
            await layer.group_add(group, channel)
    latencies: list[float] = []

    async def listen(channel: str, stop: float) -> None:
        while time.time() < stop:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=max(0.1, stop - time.time()))
            except TimeoutError:
                return
            latencies.append(time.time() - message["t"])

    stop = time.time() + seconds + 2
    listeners = [asyncio.create_task(listen(c, stop)) for group in rooms for c in members[group]]
    interval, start = 1 / (args.rate * args.rooms), time.time()
    sent = 0
    while time.time() - start < seconds:
        await layer.group_send(rooms[sent % len(rooms)], {"type": "m", "t": time.time()})
        sent += 1
        await asyncio.sleep(max(0.0, start + sent * interval - time.time()))
    await asyncio.gather(*listeners)
    return latencies


def client_process(rooms, port, args, start_at, queue) -> None:
    results = run_to_end(client_main(rooms, port, args, start_at))
    results["cpu"] = time.process_time()
    queue.put(results)


class Worker:
    """A Celery worker writing the chat's FHIR Communications (``celery -A hub worker``)."""

    def __init__(self, database_url: str, nice: int = 0):
        self.database_url, self.nice = database_url, nice

    def __enter__(self):
        env = {**os.environ, "DATABASE_URL": self.database_url, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
        command = [PYTHON, "-m", "celery", "-A", "hub", "worker", "--pool", "solo", "--loglevel", "WARNING"]
        nice = (lambda: os.nice(self.nice)) if self.nice else None  # noqa: PLW0108 - a child's own priority
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, preexec_fn=nice)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def chat_without_communication(database_url: str) -> list[int]:
    """[chat entries, of which still without their FHIR Communication]."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE fhir_ref = '') FROM consultations_roomevent WHERE kind = 'chat'"
        ).fetchone()
    return [row[0], row[1]]


def summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def windows(at: list[float], values: list[float], width: float) -> dict[str, float]:
    """p99 (ms) of the messages sent in each ``width`` seconds of the run: where the tail comes from."""
    if not at:
        return {}
    start, buckets = min(at), {}
    for t, v in zip(at, values, strict=True):
        buckets.setdefault(int((t - start) // width), []).append(v)
    return {
        f"{int(k * width)}-{int((k + 1) * width)} s": round(percentile(b, 99) * 1000, 1)
        for k, b in sorted(buckets.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="chat messages per second per room")
    parser.add_argument("--presence-every", type=float, default=5.0, help="seconds between presence changes")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--port", type=int, default=9650)
    parser.add_argument("--pool", type=int, default=14, help="DATABASE_POOL_MAX of each server process")
    parser.add_argument("--phase", choices=("spread", "burst"), default="spread", help="rooms' clocks (see above)")
    parser.add_argument("--ramp", type=float, help="seconds over which the rooms' people first join")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the Celery worker at this lower CPU priority (as a worker on other cores or hosts would leave the "
        "web processes theirs); 0, the default, shares the cores equally",
    )
    parser.add_argument("--quick", action="store_true", help="3 rooms of 4 for 8 s: it works, nothing measured")
    args = parser.parse_args()
    if args.quick:
        args.rooms, args.participants, args.seconds, args.workers, args.clients = 3, 4, 8.0, 1, 1
    if args.ramp is None:
        args.ramp = args.rooms * args.participants / 50
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL (the channel layer across server processes and the Celery broker).")
    progress(f"scratch database and {args.rooms} rooms of {args.participants}")
    database_url = scratch_database()
    rooms = prepare(database_url, rooms=args.rooms, participants=args.participants)
    with (
        Server(database_url, workers=args.workers, port=args.port, pool=args.pool) as server,
        Worker(database_url, nice=args.worker_nice) as worker,
    ):
        cpu_before = cpu_seconds(server.process.pid)
        worker_cpu_before = cpu_seconds(worker.process.pid)
        # everyone has joined by then (the ramp, then each room's people one after another)
        start_at = time.time() + 5 + args.ramp + args.participants * 0.2 + args.rooms * args.participants / 100
        queue = multiprocessing.get_context("fork").Queue()
        chunks = [rooms[n :: args.clients] for n in range(args.clients)]
        processes = [
            multiprocessing.get_context("fork").Process(
                target=client_process, args=(chunk, args.port, args, start_at, queue)
            )
            for chunk in chunks
            if chunk
        ]
        progress(
            f"{len(processes)} client processes, {args.rooms * args.participants} sockets; load for {args.seconds:.0f} s"
        )
        for process in processes:
            process.start()
        parts = [queue.get(timeout=args.seconds + 600) for _ in processes]
        for process in processes:
            process.join(10)
        cpu = cpu_seconds(server.process.pid) - cpu_before
        worker_cpu = cpu_seconds(worker.process.pid) - worker_cpu_before
        unwritten = chat_without_communication(database_url)  # as the run ends (the sweep writes the rest later)
    progress(f"baseline: the Redis channel layer alone, same rooms and rate, {min(args.seconds, 15):.0f} s")
    raw = run_to_end(raw_fanout(args, min(args.seconds, 15)))
    messages = [v for part in parts for v in part["message"]]
    sent_at = [t for part in parts for t in part["message_at"]]
    joins = [v for part in parts for v in part["join"]]
    report = {
        "machine": machine(),
        "rooms": args.rooms,
        "participants": args.participants,
        "rate_per_room": args.rate,
        "seconds": args.seconds,
        "workers": args.workers,
        "worker_nice": args.worker_nice,
        "phase": args.phase,
        "ramp_seconds": args.ramp,
        "sent": sum(p["sent"] for p in parts),
        "message_to_every_other_socket": summary(messages),
        "ack_to_sender": summary([v for part in parts for v in part["ack"]]),
        "join_to_first_state": summary(joins),
        # the first joins come in the ramp, before the load (50 a second at the default size); the others are
        # the tabs reconnecting under the load
        "join_first_in_ramp": summary([v for part in parts for v in part["first_join"]]),
        "join_reconnect_under_load": summary([v for part in parts for v in part["rejoin"]]),
        "message_p99_ms_per_10s": windows(sent_at, messages, 10),
        "baseline_channel_layer_fanout": summary(raw),
        "message_p99_vs_baseline": round(percentile(messages, 99) / percentile(raw, 99), 1)
        if messages and raw
        else None,
        "replayed_after_reconnect": sum(p["replayed"] for p in parts),
        "filled_after_a_gap": sum(p["filled"] for p in parts),
        "missing": sum(p["missing"] for p in parts),
        "unacknowledged": sum(p["unacknowledged"] for p in parts),
        "errors": dict(Counter(e for p in parts for e in p["errors"])),
        "server_cpu_seconds": round(cpu, 1),
        "celery_worker_cpu_seconds": round(worker_cpu, 1),
        "client_cpu_seconds": round(sum(p["cpu"] for p in parts), 1),
        "chat_entries_without_their_communication_at_the_end": unwritten,
        "targets": {"message_p99_ms": 100, "join_p99_ms": 500},
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
