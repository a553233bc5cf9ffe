"""Operators' view of the hub: request ids, Prometheus metrics for scrapers only, JSON logs, liveness."""

from __future__ import annotations

import logging
import re

import httpx
import orjson
import pytest
from django.test import override_settings

from hub.celery import app
from hub.observability.context import request_id
from hub.observability.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db(transaction=True)


@app.task(name="tests.observability.remember_request_id")
def remember_request_id(key: str) -> None:
    """What a task sees as its request id (the in-process worker shares this process's cache)."""
    from django.core.cache import cache

    cache.set(key, request_id.get(), 60)


def _metric(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
        elif not wanted and line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_every_answer_carries_a_request_id_and_keeps_the_proxys(live_hub):
    made = httpx.get(f"{live_hub}/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    kept = httpx.get(f"{live_hub}/healthz", headers={"X-Request-ID": "nginx-4711"})
    assert kept.headers["x-request-id"] == "nginx-4711"
    refused = httpx.get(f"{live_hub}/healthz", headers={"X-Request-ID": 'evil" text {'})
    assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])


def test_requests_are_counted_per_endpoint_family_and_fhir_interactions_by_outcome(live_hub, dr_li_at_county_a):
    from hub.accounts.services import api_token_create

    _token, raw = api_token_create(user=dr_li_at_county_a, name="metrics")
    before = httpx.get(f"{live_hub}/metrics").text
    httpx.get(f"{live_hub}/fhir/Patient/nobody", headers={"Authorization": f"Bearer {raw}"})  # 404
    httpx.get(f"{live_hub}/fhir/metadata")
    after = httpx.get(f"{live_hub}/metrics").text
    assert _metric(after, "hub_http_requests_total", family="fhir_read", status="4xx") == (
        _metric(before, "hub_http_requests_total", family="fhir_read", status="4xx") + 1
    )
    assert _metric(after, "hub_http_requests_total", family="fhir_capabilities", status="2xx") >= 1
    assert _metric(after, "hub_http_request_seconds_count", family="fhir_read") >= 1
    assert _metric(after, "hub_fhir_interactions_total", action="read", actor="user", outcome="client_error") >= 1


def test_sync_lag_is_reported_per_site(live_hub, county_a):
    from django.utils import timezone

    from federation.sites.sync_config import SiteSync

    SiteSync.objects.create(
        site=county_a,
        base_url="http://127.0.0.1:9/fhir",
        last_success_at=timezone.now() - timezone.timedelta(minutes=5),
    )
    text = httpx.get(f"{live_hub}/metrics").text
    assert 290 < _metric(text, "hub_site_sync_lag_seconds", site="county-a") < 400


def test_metrics_are_for_scrapers_only(client):
    outsider = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert outsider.status_code == 404
    with override_settings(HUB_METRICS_TOKEN="scrape-secret"):
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
        wrong = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer guess")
        assert wrong.status_code == 404
        scraper = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer scrape-secret")
        assert scraper.status_code == 200
        assert b"hub_http_requests_total" in scraper.content


def test_livez_answers_without_asking_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/livez").json() == {"status": "ok"}


def test_json_logs_carry_the_request_id():
    record = logging.makeLogRecord({"name": "hub.test", "levelname": "WARNING", "msg": "site %s slow", "args": ("a",)})
    token = request_id.set("req-123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = orjson.loads(JsonFormatter().format(record))
    assert line["message"] == "site a slow"
    assert line["request_id"] == "req-123"
    assert line["level"] == "WARNING"


@pytest.mark.redis
def test_a_task_queued_in_a_request_logs_that_requests_id(celery_worker_on_redis):
    from django.core.cache import cache

    token = request_id.set("req-from-web-42")
    try:
        remember_request_id.delay("seen-request-id")
    finally:
        request_id.reset(token)
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and cache.get("seen-request-id") is None:
        time.sleep(0.1)
    assert cache.get("seen-request-id") == "req-from-web-42"


@pytest.mark.redis
def test_every_family_operators_watch_is_served_with_its_samples(live_hub, county_a, dr_li_at_county_a):
    """Issue 18's list, each with a sample from the thing it counts: websocket connections, device messages,
    open alarms, a site's sync dead letters, the outbox's dead letters and the Celery queue's length (requests,
    latencies, FHIR interactions and sync lag: the tests above)."""
    import os

    from django.utils import timezone
    from websockets.sync.client import connect as ws_connect

    from federation.outbox.models import OutboxMessage
    from federation.sync.models import DeadLetter
    from hub.accounts.services import api_token_create
    from hub.devices.ingest.pipeline import Message, Refusal, message_ingest
    from hub.devices.models import Alarm
    from hub.devices.services import device_register

    if not os.environ.get("REDIS_URL"):
        pytest.skip("the Celery queue's length is read from the Redis broker")
    now = timezone.now()
    DeadLetter.objects.create(site_code="county-a", resource_type="Observation", source_id="obs-9", error={"x": 1})
    OutboxMessage.objects.create(
        kind="referrals.opinion", destination="site:county-a", state="dead", retry_from=now, next_attempt_at=now
    )
    monitor = device_register(site=county_a, key="mon-metrics", kind="monitor")
    Alarm.objects.create(
        device=monitor, patient_ref="Patient/x", kind="physiological", priority="high", condition="hr_high",
        message="HR 150", raised_at=now,
    )  # fmt: skip
    with pytest.raises(Refusal):
        message_ingest(Message(site_code="county-a", device_key="nobody", path="mqtt"))
    _token, raw = api_token_create(user=dr_li_at_county_a, name="metrics-ws")
    url = live_hub.replace("http://", "ws://") + "/ws/notifications/"
    with ws_connect(url, additional_headers={"Authorization": f"Bearer {raw}"}):
        text = httpx.get(f"{live_hub}/metrics").text

    assert _metric(text, "hub_websocket_connections", route="notifications") >= 1
    assert _metric(text, "hub_device_messages_total", protocol="mqtt", outcome="refused") >= 1
    assert _metric(text, "hub_device_alarms_open", priority="high") >= 1
    assert _metric(text, "hub_sync_dead_letters", site="county-a") >= 1
    assert _metric(text, "hub_outbox_messages", kind="referrals.opinion", state="dead") >= 1
    assert 'hub_celery_queue_length{queue="celery"}' in text
