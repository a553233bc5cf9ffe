"""Security headers, the Content-Security-Policy, cookies and HSTS, as the pages are served."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/", "/referrals/", "/api/schema/", "/fhir/metadata", "/healthz"])
def test_every_answer_carries_the_security_headers(client, dr_li_at_county_a, path):
    client.force_login(dr_li_at_county_a)
    response = client.get(path)
    assert response.status_code in (200, 503), (path, response.status_code)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_pages_carry_no_inline_script_or_event_handler(client, dr_li_at_county_a, admin_of_county_a):
    import re

    for user, paths in (
        (dr_li_at_county_a, ["/", "/referrals/", "/referrals/new/"]),
        (admin_of_county_a, ["/access/reviews/", "/dashboard/"]),
    ):
        client.force_login(user)
        for path in paths:
            page = client.get(path).content.decode()
            for tag in re.findall(r"<script\b[^>]*>", page):
                assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
            assert not re.search(r"\son[a-z]+=", page), path
            assert " style=" not in page, path


@pytest.mark.django_db
def test_without_https_cookies_are_not_secure_and_no_hsts(client, dr_li_at_county_a):
    response = client.post("/login/", {"username": "dr_li", "password": "pw-for-tests"})
    assert response.status_code == 302
    assert "Strict-Transport-Security" not in response
    assert not response.cookies["sessionid"]["secure"]
    assert response.cookies["sessionid"]["httponly"]


def test_with_hub_https_the_settings_turn_on_hsts_and_secure_cookies(tmp_path):
    """In a fresh interpreter: HUB_HTTPS=true is what production sets."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import json, django; from django.conf import settings; django.setup(); print(json.dumps({"
        "'hsts': settings.SECURE_HSTS_SECONDS, 'secure': settings.SESSION_COOKIE_SECURE, "
        "'csrf': settings.CSRF_COOKIE_SECURE, 'proxy': list(settings.SECURE_PROXY_SSL_HEADER), "
        "'name': settings.SESSION_COOKIE_NAME}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings.base",
        "HUB_HTTPS": "true",
        "HUB_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    chosen = json.loads(result.stdout.strip().splitlines()[-1])
    assert chosen == {
        "hsts": 31_536_000,
        "secure": True,
        "csrf": True,
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
        "name": "__Host-sessionid",
    }


@pytest.mark.django_db
@override_settings(
    SECURE_HSTS_SECONDS=31_536_000,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_behind_the_tls_proxy_answers_carry_hsts_and_secure_cookies(dr_li_at_county_a):
    client = Client()
    response = client.post("/login/", {"username": "dr_li", "password": "pw-for-tests"}, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 302
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert response.cookies["sessionid"]["secure"]


def test_outside_debug_the_hub_refuses_to_start_without_a_secret_key(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE", "HUB_DEV_SECRET_KEY", "DJANGO_DEBUG")
    }
    env.update(DJANGO_SETTINGS_MODULE="hub.settings.base", HUB_VAR_DIR=str(tmp_path))
    probe = "import django; django.setup(); print('started')"
    root = Path(__file__).resolve().parents[3]
    refused = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY" in refused.stderr
    with_key = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root,
        env={**env, "DJANGO_SECRET_KEY": "k" * 50},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert with_key.returncode == 0, with_key.stderr
    in_debug = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root,
        env={**env, "DJANGO_DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert in_debug.returncode == 0, in_debug.stderr


def _connect_src(tmp_path, **environ) -> tuple[int, list[str] | str]:
    """The hub's settings loaded in a fresh process with ``environ``: ``(0, connect-src)`` or ``(code, stderr)``."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src']))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings.base", "HUB_VAR_DIR": str(tmp_path), **environ}
    root = Path(__file__).resolve().parents[3]
    command = [sys.executable, "-c", probe]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode:
        return result.returncode, result.stderr
    return 0, json.loads(result.stdout.strip().splitlines()[-1])


def test_with_livekit_the_policy_lets_browsers_reach_it(tmp_path):
    code, sources = _connect_src(
        tmp_path, HUB_LIVEKIT_URL="wss://sfu.alliance.example", HUB_LIVEKIT_API_KEY="k", HUB_LIVEKIT_API_SECRET="s"
    )
    assert code == 0, sources
    assert sources == ["'self'", "wss://sfu.alliance.example", "https://sfu.alliance.example"]


def test_with_janus_the_policy_lets_browsers_reach_it_and_one_sfu_is_named(tmp_path):
    janus = {
        "HUB_JANUS_URL": "wss://sfu.alliance.example/janus",
        "HUB_JANUS_API_URL": "http://10.0.0.20:8088/janus",
        "HUB_JANUS_TOKEN_SECRET": "t",
        "HUB_JANUS_ADMIN_KEY": "a",
    }
    code, sources = _connect_src(tmp_path, **janus)
    assert code == 0, sources
    assert sources == ["'self'", "wss://sfu.alliance.example", "https://sfu.alliance.example"]
    livekit = {"HUB_LIVEKIT_URL": "wss://lk.example", "HUB_LIVEKIT_API_KEY": "k", "HUB_LIVEKIT_API_SECRET": "s"}
    code, error = _connect_src(tmp_path, **janus, **livekit)
    assert code != 0 and "Name one SFU" in error
    code, error = _connect_src(tmp_path, **{**janus, "HUB_JANUS_ADMIN_KEY": ""})
    assert code != 0 and "HUB_JANUS_ADMIN_KEY" in error
