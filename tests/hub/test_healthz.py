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


def test_probes_answer_whatever_host_the_prober_names(client, db, settings):
    """kubelet, Docker's health checks and Prometheus send an address as the Host (deploy/k8s, compose.yml):
    the probes answer it, while every other page still refuses a host the hub is not."""
    settings.ALLOWED_HOSTS = ["hub.alliance.example"]
    pod = {"HTTP_HOST": "10.244.1.7:8000"}
    assert client.get("/livez", **pod).status_code == 200
    health = client.get("/healthz", **pod)
    assert health.status_code in (200, 503) and "database" in health.json()["checks"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **pod).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.244.1.9", **pod).status_code == 404  # still scrapers only
    assert client.get("/login/", **pod).status_code == 400
    assert client.get("/login/", HTTP_HOST="hub.alliance.example").status_code == 200
