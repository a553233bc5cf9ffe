"""Which database, channel layer and Celery mode the settings choose, in a fresh interpreter each time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'embedded': settings.EMBEDDED_DATABASE, 'host': settings.DATABASES['default']['HOST'], "
    "'name': settings.DATABASES['default']['NAME'], 'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], "
    "'eager': settings.CELERY_TASK_ALWAYS_EAGER, "
    "'prefix': settings.CHANNEL_LAYERS['default'].get('CONFIG', {}).get('prefix')}))"
)


def _settings_with(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "MQTT_URL", "CELERY_BROKER_URL"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="hub.settings.base")
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_without_database_url_the_embedded_postgresql_is_used(tmp_path):
    result = _settings_with({"HUB_VAR_DIR": str(tmp_path / "var")})
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout.strip().splitlines()[-1])
    assert chosen["embedded"] is True
    assert chosen["host"].startswith(str(tmp_path))  # the server's unix socket lives in our var dir
    assert chosen["name"] == "hub"
    assert chosen["layer"] == "channels.layers.InMemoryChannelLayer"
    assert chosen["eager"] is True


def test_with_database_and_redis_urls_those_are_used():
    result = _settings_with({"DATABASE_URL": "postgresql://u@db.example:5433/prod", "REDIS_URL": "redis://r:6379/0"})
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout.strip().splitlines()[-1])
    assert chosen == {
        "embedded": False,
        "host": "db.example",
        "name": "prod",
        "layer": "hub.channel_layer.HubChannelLayer",
        "eager": False,
        "prefix": "hub.db0.",  # Redis publish/subscribe channels are per server: the database number keeps hubs apart
    }


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL must be a URL with scheme postgres"),
        ({"DATABASE_URL": "postgresql://u@h/x", "REDIS_URL": "http://nope"}, "REDIS_URL must be a URL"),
        ({"DATABASE_URL": "postgresql://u@h/x", "DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG must be a boolean"),
        (
            {"DATABASE_URL": "postgresql://u@h/x", "FHIR_MAX_BODY_BYTES": "lots"},
            "FHIR_MAX_BODY_BYTES must be an integer",
        ),
    ],
)
def test_bad_values_stop_the_hub_with_a_clear_message(env, message):
    result = _settings_with(env)
    assert result.returncode != 0
    assert message in result.stderr
