"""HL7 v2 ORU^R01 over a real MLLP socket: each message answered with its ACK (AA recorded, AE refused, AR
malformed); OBX-4 ordinals that change between messages do not matter (codes do); waves (OBX of type NA) reach
the live buffer and the viewers as MQTT's wave chunks do, bad ones are refused whole."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from hub.devices.ingest.buffer import buffer_recent
from hub.devices.models import Rejection
from hub.devices.simulator import mllp_send, oru_message
from tests.hub.devices.conftest import receive, wait_for


@pytest.fixture
def mllp_server(transactional_db):
    from hub.devices.ingest.mllp import MllpServer

    server = MllpServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def mllp(mllp_server):
    sock = socket.create_connection(("127.0.0.1", mllp_server.port), timeout=10)
    yield sock
    sock.close()


def oru(device="mon-03", site="county-a", values=None, control_id="C1", at=None, waves=None):
    return oru_message(
        site=site,
        device=device,
        values={"hr": 75, "spo2": 97, "sys": 120, "dia": 80} if values is None else values,
        at=at or time.time() + 1,
        control_id=control_id,
        waves=waves,
    )


def ecg_and_pleth(start=None):
    start = start or time.time() + 0.5
    return {"ecg2": (250, start, [0.1, 0.2, 1.1, -0.2] * 50), "pleth": (100, start, [50.0, 90.0] * 50)}


def msa(ack: str) -> list[str]:
    segment = next(s for s in ack.split("\r") if s.startswith("MSA|"))
    return segment.split("|")


def test_a_message_is_recorded_and_acknowledged(mllp, bound):
    ack = mllp_send(mllp, oru(control_id="M1"))
    assert msa(ack)[1:3] == ["AA", "M1"]
    frame = buffer_recent(bound.pk, 1)[-1]
    assert frame["numerics"] == {"hr": 75, "spo2": 97, "sys": 120, "dia": 80} or set(frame["numerics"]) == {
        "hr",
        "spo2",
        "sys",
        "dia",
    }


def test_ordinals_change_between_messages_codes_decide(mllp, bound):
    for n in range(3):  # oru_message shuffles the OBX order and hierarchy ordinals each time
        assert msa(mllp_send(mllp, oru(values={"hr": 60 + n, "spo2": 95, "temp": 37.1}, control_id=f"O{n}")))[1] == "AA"
    frames = buffer_recent(bound.pk, 3)
    assert [f["numerics"]["hr"] for f in frames] == [60, 61, 62]
    assert all(f["numerics"]["temp"] == 37.1 for f in frames)


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        (lambda: oru(device="ghost"), "AE", "unknown_device"),
        (lambda: oru(values={"hr": 400}), "AE", "impossible_value"),
        (lambda: oru(at=time.time() + 7200), "AE", "clock"),
        (lambda: oru().replace("147842^MDC_ECG_HEART_RATE", "999999^MDC_MYSTERY"), "AE", "unknown_code"),
        (lambda: "this is not HL7", "AR", "malformed"),
        (lambda: oru().replace("ORU^R01", "ADT^A01"), "AR", "malformed"),
    ],
)
def test_bad_messages_get_a_nack_and_store_nothing(mllp, bound, message, code, reason):
    ack = mllp_send(mllp, message())
    assert msa(ack)[1] == code
    assert reason in ack
    assert Rejection.objects.get().reason == reason and Rejection.objects.get().path == "mllp"
    assert buffer_recent(bound.pk, 5) == []


def test_an_unbound_device_is_refused(mllp, monitor):
    ack = mllp_send(mllp, oru())
    assert msa(ack)[1] == "AE" and "unbound" in ack


def test_messages_share_one_database_connection_and_a_dead_one_is_replaced(mllp, bound):
    """The listener keeps its connection between messages (one per message cost more than the message), and a
    connection PostgreSQL dropped meanwhile is replaced: at most the message that met it is refused."""
    import psycopg
    from django.db import connection

    def backends() -> list[int]:
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            rows = other.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name <> 'pytest-main'"
            ).fetchall()
        return sorted(pid for (pid,) in rows)

    connection.cursor().execute("SET application_name = 'pytest-main'")
    assert msa(mllp_send(mllp, oru(control_id="K0")))[1] == "AA"
    listener = backends()
    for n in range(1, 6):
        assert msa(mllp_send(mllp, oru(values={"hr": 70 + n, "spo2": 97}, control_id=f"K{n}")))[1] == "AA"
    assert backends() == listener, "a new database connection was opened for a message"

    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        for pid in listener:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
    answers = [msa(mllp_send(mllp, oru(values={"hr": 80 + n, "spo2": 97}, control_id=f"D{n}")))[1] for n in range(3)]
    assert answers[1:] == ["AA", "AA"], answers


def test_a_binding_ended_by_another_process_reaches_the_ingest_within_a_second(mllp, bound):
    """The ingest caches a device's bindings; a change committed by another process (which announces it in the
    shared cache, as ``hub.devices.caches.changed`` does) is seen within ``CHECK_SECONDS``, not at the cache's
    expiry."""
    from django.core.cache import cache
    from django.utils import timezone

    from hub.devices.caches import CHECK_SECONDS, GENERATION_KEY
    from hub.devices.models import Binding

    assert msa(mllp_send(mllp, oru(control_id="G1")))[1] == "AA"
    Binding.objects.filter(device=bound, end__isnull=True).update(end=timezone.now())  # another process's change
    assert msa(mllp_send(mllp, oru(control_id="G2")))[1] == "AA", "the bindings were expected to be cached"
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, None)
    time.sleep(CHECK_SECONDS + 0.2)
    assert msa(mllp_send(mllp, oru(control_id="G3")))[1:3] == ["AE", "G3"]


def test_waves_in_na_rows_reach_the_live_buffer_as_wave_chunks(mllp, bound):
    start = time.time() + 0.5  # the device was attached just now
    ack = mllp_send(mllp, oru(control_id="W1", waves=ecg_and_pleth(start)))
    assert msa(ack)[1:3] == ["AA", "W1"]
    frame = buffer_recent(bound.pk, 1)[-1]
    assert set(frame["waves"]) == {"ecg2", "pleth"}
    ecg, pleth = frame["waves"]["ecg2"], frame["waves"]["pleth"]
    assert ecg["rate"] == 250 and ecg["data"] == [0.1, 0.2, 1.1, -0.2] * 50
    assert pleth["rate"] == 100 and len(pleth["data"]) == 100
    assert abs(ecg["at"] - start) < 0.01  # OBX-14: the first sample's time, to the millisecond
    assert frame["numerics"]["hr"] == 75  # numerics and waves of one message: one frame, as over MQTT


def test_a_message_of_waves_only_is_taken_and_a_missing_period_uses_the_codes_rate(mllp, bound):
    message = oru(values={}, waves={"ecg2": (250, time.time() + 0.5, [0.5] * 125)})
    message = "\r".join(s for s in message.split("\r") if "MDC_ATTR_TIME_PD_SAMP" not in s)
    assert msa(mllp_send(mllp, message))[1] == "AA"
    assert buffer_recent(bound.pk, 1)[-1]["waves"]["ecg2"]["rate"] == 250


def _with_ecg_samples(samples: str) -> str:
    lines = oru(waves={"ecg2": (250, time.time() + 0.5, [0.1, 0.2])}).split("\r")
    return "\r".join(line.replace("|0.1^0.2|", f"|{samples}|") if "|NA|131330" in line else line for line in lines)


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        (lambda: _with_ecg_samples("0.1^zero^0.3"), "AR", "malformed"),
        (lambda: _with_ecg_samples("^".join(["0.1"] * 100_000)), "AR", "malformed"),
        (lambda: _with_ecg_samples("0.1^99^0.3"), "AE", "impossible_value"),
        (
            lambda: _with_ecg_samples("0.1^0.2").replace("131330^MDC_ECG_ELEC_POTL_II", "999998^MDC_MYSTERY"),
            "AE",
            "unknown_code",
        ),
        (
            lambda: _with_ecg_samples("0.1^0.2").replace("|4|264338^", "|0|264338^"),
            "AR",
            "malformed",
        ),
        (lambda: oru(values={"hr": 75}).replace("|NM|147842", "|NA|147842"), "AR", "malformed"),
    ],
)
def test_bad_waves_get_a_nack_and_store_nothing(mllp, bound, message, code, reason):
    ack = mllp_send(mllp, message())
    assert msa(ack)[1] == code and reason in ack
    rejection = Rejection.objects.get()
    assert rejection.reason == reason and rejection.path == "mllp" and rejection.device_key == "mon-03"
    assert buffer_recent(bound.pk, 5) == []


async def test_hl7_waves_reach_the_live_viewers(mllp, viewer, bound, patient, dr_li_at_county_a):
    socket = await viewer(dr_li_at_county_a, patient["id"])
    await receive(socket, "snapshot")
    ack = await asyncio.to_thread(mllp_send, mllp, oru(control_id="V1", waves=ecg_and_pleth()))
    assert msa(ack)[1] == "AA"
    frame = await receive(socket, "vitals")
    assert frame["device"] == "mon-03" and frame["waves"]["ecg2"]["rate"] == 250
    assert len(frame["waves"]["ecg2"]["data"]) == 200 and len(frame["waves"]["pleth"]["data"]) == 100


def test_the_simulators_hl7_monitors_send_their_waves_too(mllp_server, bound):
    from datetime import timedelta

    from django.utils import timezone

    from hub.devices.models import Binding
    from hub.devices.selectors import device_cache_clear
    from hub.devices.simulator import Physiology, SimDevice, Simulator

    Binding.objects.filter(device=bound).update(start=timezone.now() - timedelta(minutes=1))  # attached a while ago
    device_cache_clear()
    device = SimDevice("county-a", "mon-03", Physiology(seed=3), waves=True, hl7=True)
    simulator = Simulator([device], mllp=("127.0.0.1", mllp_server.port)).start()
    try:
        frame = wait_for(lambda: next((f for f in buffer_recent(bound.pk, 5) if f.get("waves")), None))
        wait_for(lambda: simulator.acks.get("AA"))  # its ACK read back
    finally:
        simulator.stop()
    assert frame["waves"]["ecg2"]["rate"] == 250 and len(frame["waves"]["ecg2"]["data"]) == 250
    assert frame["waves"]["pleth"]["rate"] == 100 and len(frame["waves"]["pleth"]["data"]) == 100
    assert set(simulator.acks) == {"AA"} and not Rejection.objects.exists()
