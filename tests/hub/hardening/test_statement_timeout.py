"""The server processes' database connections carry ``statement_timeout``; management commands' do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, connections

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_a_connection_of_the_served_hub_stops_a_statement_past_the_timeout():
    import hub.asgi  # noqa: F401 - the entry point applies it, as uvicorn's import does

    served = connections.create_connection("default")
    try:
        with served.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "30s"
            cursor.execute("SET statement_timeout = 200")  # the same mechanism, shortened for the test
            with pytest.raises(OperationalError, match="statement timeout"):
                cursor.execute("SELECT pg_sleep(2)")
    finally:
        served.close()


def test_management_commands_are_not_bounded():
    probe = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "c.execute('SHOW statement_timeout'); print(c.fetchone()[0])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0"
