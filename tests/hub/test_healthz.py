import os

import pytest


def test_healthz_reports_a_reachable_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["engine"] == "postgresql"
    assert body["checks"]["database"]["version"].startswith("PostgreSQL")


def test_healthz_is_503_when_a_configured_redis_is_unreachable(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_URL = None
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_healthz_checks_the_real_redis_and_broker(client, db, settings):
    settings.REDIS_URL = os.environ["REDIS_URL"]
    settings.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    from hub.celery import app

    app.conf.broker_url = os.environ["REDIS_URL"]
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["redis"]["ok"] is True
    assert response.json()["checks"]["broker"]["ok"] is True


@pytest.mark.mqtt
@pytest.mark.skipif(not os.environ.get("MQTT_URL"), reason="needs MQTT_URL")
def test_healthz_checks_the_real_mqtt_broker(client, db, settings):
    settings.MQTT_URL = os.environ["MQTT_URL"]
    response = client.get("/healthz")
    assert response.json()["checks"]["mqtt"]["ok"] is True


def test_healthz_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405
