"""Named actors of the alliance, as in a story: county A and B, their doctors, specialists, an official."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from federation.sites.constants import SiteKind, Specialty
from hub.accounts.constants import Role
from tests.factories import DepartmentFactory, SiteFactory, UserFactory


@pytest.fixture
def alliance(db):
    return SiteFactory(code="alliance", name="示范市医联体", kind=SiteKind.ALLIANCE, parent=None)


@pytest.fixture
def general_hospital(alliance):
    return SiteFactory(code="general", name="示范市第一人民医院", kind=SiteKind.GENERAL, parent=alliance)


@pytest.fixture
def county_a(alliance):
    return SiteFactory(code="county-a", name="东川县人民医院", kind=SiteKind.COUNTY, parent=alliance)


@pytest.fixture
def county_b(alliance):
    return SiteFactory(code="county-b", name="西河县人民医院", kind=SiteKind.COUNTY, parent=alliance)


@pytest.fixture
def cardiology(general_hospital):
    return DepartmentFactory(
        site=general_hospital, code="cardiology", name="心血管内科", specialty=Specialty.CARDIOLOGY
    )


@pytest.fixture
def neurology(general_hospital):
    return DepartmentFactory(site=general_hospital, code="neurology", name="神经内科", specialty=Specialty.NEUROLOGY)


@pytest.fixture
def dr_li_at_county_a(county_a):
    return UserFactory(username="dr_li", display_name="李明", role=Role.COUNTY_DOCTOR, site=county_a)


@pytest.fixture
def dr_zhao_at_county_b(county_b):
    return UserFactory(username="dr_zhao", display_name="赵敏", role=Role.COUNTY_DOCTOR, site=county_b)


@pytest.fixture
def cardiologist_zhang(general_hospital, cardiology):
    return UserFactory(
        username="cardiologist_zhang",
        display_name="张建华",
        role=Role.SPECIALIST,
        site=general_hospital,
        department=cardiology,
    )


@pytest.fixture
def neurologist_zhou(general_hospital, neurology):
    return UserFactory(
        username="neurologist_zhou",
        display_name="周欣怡",
        role=Role.SPECIALIST,
        site=general_hospital,
        department=neurology,
    )


@pytest.fixture
def official_wang(alliance):
    return UserFactory(username="official_wang", display_name="王卫健", role=Role.OFFICIAL, site=alliance)


@pytest.fixture
def admin_of_county_a(county_a):
    return UserFactory(username="admin_a", display_name="信息科", role=Role.SITE_ADMIN, site=county_a, is_staff=True)


@pytest.fixture
def token_for():
    """A function returning ``Authorization`` headers with a fresh bearer token for a user."""
    from hub.accounts.services import api_token_create

    def make(user) -> dict[str, str]:
        _token, raw = api_token_create(user=user, name="test")
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make


@pytest.fixture
def celery_worker_on_redis():
    """A real Celery worker consuming from the real Redis broker, in this process (skipped without REDIS_URL).

    One queue name serves the whole test session: Celery caches the app's queues, so a name changed
    between two workers would leave the second one listening where nothing is sent.
    """
    import os

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    from celery.contrib.testing.worker import start_worker

    from hub.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    app.conf.task_default_queue = f"hub-test-{os.getpid()}"  # never steal another suite's tasks
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue = saved


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_hub(django_db_setup, django_db_blocker):
    """The hub (``hub.asgi.application``: HTTP and websockets) served by uvicorn on a free port of 127.0.0.1,
    in this process, over the test database, for the whole session; its base URL. Tests that use it take
    ``transactional_db`` so that the server's threads see what they wrote."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        "hub.asgi:application", host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="auto"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="hub-test-server", daemon=True)
    with django_db_blocker.unblock():
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the hub's test server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(10)


ROOT = Path(__file__).resolve().parents[1]
JANUS = os.environ.get("HUB_TEST_JANUS", "/usr/bin/janus")


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory):
    """A real Janus WebRTC Server (Debian's ``janus``) started with ``deploy/janus/``'s configuration, its
    secrets and ports substituted: ``{"url", "api_url", "token_secret", "admin_key"}`` for the hub's settings.
    Skipped where Janus is not installed (``apt-get install janus``; ``.ci/run`` installs it)."""
    import subprocess
    import urllib.request

    if not Path(JANUS).exists():
        pytest.skip(f"no Janus at {JANUS} (apt-get install janus)")
    folder = tmp_path_factory.mktemp("janus")
    http_port, ws_port, rtp = free_port(), free_port(), 20000 + (os.getpid() % 200) * 100
    secrets_ = {
        "@HUB_JANUS_TOKEN_SECRET@": "janus-token-secret-for-the-tests",
        "@HUB_JANUS_ADMIN_KEY@": "admin-key",
        "@HUB_JANUS_HTTP_IP@": "127.0.0.1",
    }
    for source in (ROOT / "deploy" / "janus").glob("*.jcfg"):
        text = source.read_text()
        for placeholder, value in secrets_.items():
            text = text.replace(placeholder, value)
        text = text.replace("port = 8088", f"port = {http_port}").replace("ws_port = 8188", f"ws_port = {ws_port}")
        text = text.replace('rtp_port_range = "20000-40000"', f'rtp_port_range = "{rtp}-{rtp + 99}"')
        (folder / source.name).write_text(text)
    log = (folder / "janus.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - the test's own server
        [JANUS, "-F", str(folder), "-C", str(folder / "janus.jcfg"), "-o", "-d", "3"], stdout=log, stderr=log
    )
    api_url = f"http://127.0.0.1:{http_port}/janus"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(api_url + "/info", timeout=1).read()  # noqa: S310 - the test's own server
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Janus did not start: {(folder / 'janus.log').read_text()[-2000:]}") from None
            time.sleep(0.1)
    yield {
        "url": f"ws://127.0.0.1:{ws_port}",
        "api_url": api_url,
        "token_secret": secrets_["@HUB_JANUS_TOKEN_SECRET@"],
        "admin_key": secrets_["@HUB_JANUS_ADMIN_KEY@"],
    }
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def janus(settings, janus_server):
    """The hub configured with ``janus_server`` as its SFU (and no LiveKit)."""
    settings.LIVEKIT_URL = ""
    settings.JANUS_URL, settings.JANUS_API_URL = janus_server["url"], janus_server["api_url"]
    settings.JANUS_TOKEN_SECRET, settings.JANUS_ADMIN_KEY = janus_server["token_secret"], janus_server["admin_key"]
    return janus_server
