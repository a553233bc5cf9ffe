"""Strips around an alarm: the seconds before it and after it, cut once the after-window has passed (by the
devices' housekeeping), kept as a Strip and an Observation whose valueSampledData covers the whole window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from hub.devices.ingest.pipeline import message_from_json, message_ingest
from hub.devices.models import Alarm, Binding, Strip
from hub.devices.selectors import device_cache_clear
from hub.devices.strips import strips_complete, window_samples
from tests.hub.devices.conftest import MDC_ECG, vitals

pytestmark = pytest.mark.django_db(transaction=True)


def ingest(body):
    return message_ingest(message_from_json(payload=body, site_code="county-a", device_key="mon-03", path="mqtt"))


def ecg_second(at: datetime, marker: float) -> dict:
    """One second of ECG at 250/s, every sample ``marker`` (so the test can tell the seconds apart)."""
    return {
        "time": at.isoformat(),
        "waves": [{"code": MDC_ECG, "rate": 250, "time": at.isoformat(), "data": [marker] * 250}],
    }


@pytest.fixture
def attached_a_while_ago(bound):
    Binding.objects.filter(device=bound).update(start=timezone.now() - timedelta(minutes=5))
    device_cache_clear()
    return bound


def test_the_strip_of_an_alarm_holds_the_seconds_before_and_after_it(attached_a_while_ago, patient, settings):
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL_ACTOR

    # Given a monitor sending ECG, strips of 2 s before and 2 s after an alarm
    settings.DEVICES_STRIP_BEFORE_SECONDS, settings.DEVICES_STRIP_AFTER_SECONDS = 2, 2
    now = timezone.now()
    for seconds_before, marker in ((4, 0.1), (3, 0.2), (2, 0.3), (1, 0.4)):
        ingest(ecg_second(now - timedelta(seconds=seconds_before), marker))
    # When SpO2 falls below the critical limit
    ingest(vitals(spo2=82))
    alarm = Alarm.objects.get()
    assert Strip.objects.count() == 0  # nothing yet: the seconds after it have not come
    assert alarm.strips_due_at == alarm.raised_at + timedelta(seconds=2)
    raised = alarm.raised_at
    for seconds_after, marker in ((0, 0.5), (1, 0.6), (2, 0.7)):  # the monitor goes on: the alarm was in the first
        ingest(ecg_second(now + timedelta(seconds=seconds_after), marker))
    assert strips_complete(now=raised + timedelta(seconds=1)) == 0  # not before the after-window has passed
    # Then the housekeeping after the window cuts the strip around it, once
    assert strips_complete(now=raised + timedelta(seconds=2, milliseconds=100)) == 1
    assert strips_complete(now=raised + timedelta(seconds=60)) == 0
    strip = Strip.objects.get()
    assert strip.alarm == alarm and strip.parameter == "ecg2" and strip.rate == 250
    assert 999 <= len(strip.samples) <= 1001  # 2 s before and 2 s after at 250/s
    assert strip.samples[0] == 0.3 and strip.samples[-1] == 0.7
    assert {0.6, 0.7} <= set(strip.samples)  # samples from after the alarm
    assert abs((strip.start - (raised - timedelta(seconds=2))).total_seconds()) < 0.005
    observation = services.resource_read(
        resource_type="Observation", fhir_id=strip.observation_id, actor=INTERNAL_ACTOR
    )
    period = observation["effectivePeriod"]
    assert datetime.fromisoformat(period["start"]) <= raised - timedelta(seconds=1.99)
    assert datetime.fromisoformat(period["end"]) >= raised + timedelta(seconds=1.99)
    assert len(observation["valueSampledData"]["data"].split()) == len(strip.samples)


def test_without_an_after_window_the_strip_is_kept_at_once(attached_a_while_ago, patient, settings):
    settings.DEVICES_STRIP_BEFORE_SECONDS, settings.DEVICES_STRIP_AFTER_SECONDS = 3, 0
    now = timezone.now()
    for seconds_before, marker in ((2, 0.1), (1, 0.2)):
        ingest(ecg_second(now - timedelta(seconds=seconds_before), marker))
    ingest(vitals(spo2=82))
    strip = Strip.objects.get()
    assert strip.alarm == Alarm.objects.get() and set(strip.samples) == {0.1, 0.2} and len(strip.samples) == 500


def test_a_window_takes_overlapping_chunks_once_and_leaves_other_rates_out():
    at = datetime(2026, 12, 4, 12, 0, tzinfo=UTC).timestamp()
    frames = [
        {"waves": {"ecg2": {"rate": 500, "at": at - 5, "data": [9.0] * 500}}},
        {"waves": {"ecg2": {"rate": 250, "at": at, "data": [1.0] * 250}}},
        {"waves": {"ecg2": {"rate": 250, "at": at + 0.5, "data": [2.0] * 250}}},  # half of it overlaps the first
        {"numerics": {"hr": 70}},
        {"waves": {"ecg2": {"rate": 250, "at": at + 1.5, "data": [3.0] * 250}}},
    ]
    rate, first_at, samples = window_samples(frames, "ecg2", at + 0.2, at + 2.2)
    assert rate == 250 and abs(first_at - (at + 0.2)) < 1e-6
    assert samples == [1.0] * 200 + [2.0] * 125 + [3.0] * 175
    assert window_samples(frames, "pleth", at, at + 1) is None
