"""Real-browser tests: Debian's Chromium driven by Playwright against the hub served by uvicorn.

The hub runs in this process (HTTP and websockets, ``hub.asgi.application``) on a free port of
127.0.0.1, over the test database; tests that use it take ``transactional_db`` so that the
server's threads see what the test wrote. Chromium is the system package (``/usr/bin/chromium``,
or ``HUB_TEST_CHROMIUM``): there is no browser download. Every request a page makes to anything but
127.0.0.1 is refused and reported as a failure (hospital intranets are offline).

Fixtures: ``hub_server`` (base URL), ``browser``, ``phone`` and ``pc`` (viewport sizes), ``page_for``
(a signed-in page for a user, at a viewport, in a language).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebRTC with a synthetic camera and microphone, and no permission prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
PHONE = {"width": 360, "height": 780}
PC = {"width": 1366, "height": 900}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


# Package scope, not session: Playwright's sync API keeps an event loop running in this thread while it is
# open, which would stop the async tests of the rest of the suite from running theirs.
@pytest.fixture(scope="package")
def _playwright():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.skip("playwright is not installed")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls stay synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def hub_server(live_hub):
    """The hub (HTTP and websockets) served by uvicorn in this process: ``tests/conftest.py``'s ``live_hub``."""
    return live_hub


@pytest.fixture
def phone():
    return PHONE


@pytest.fixture
def pc():
    return PC


@pytest.fixture
def offsite_requests():
    """URLs pages tried to fetch from anywhere but 127.0.0.1 (refused); asserted empty after each test."""
    tried: list[str] = []
    yield tried
    assert not tried, f"pages tried to reach outside 127.0.0.1: {tried}"


@pytest.fixture
def csp_violations():
    """What the Content-Security-Policy blocked on the pages (Chromium's console); asserted empty after each test:
    the policy must block nothing the pages need."""
    seen: list[str] = []
    yield seen
    assert not seen, f"the Content-Security-Policy blocked: {seen}"


# Every page reports each violation on its console (Chromium logs most of them itself; this makes sure).
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("Content Security Policy violation: " + e.violatedDirective + " " + e.blockedURI + " "
    + e.sourceFile + ":" + e.lineNumber);
});
"""


def _watch_csp(context, seen: list[str]) -> None:
    context.add_init_script(_REPORT_VIOLATIONS)

    def console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            seen.append(message.text)

    context.on("console", console)


def _guard(context, tried: list[str]) -> None:
    def route(route):
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            tried.append(url)
            route.abort()

    context.route("**/*", route)


@pytest.fixture
def page_for(browser, hub_server, offsite_requests, csp_violations, transactional_db):
    """``page_for(user, viewport=PHONE, language="zh-hans")``: a new signed-in page (its own browser context),
    whose Content-Security-Policy violations fail the test (``csp_violations``)."""
    from django.conf import settings
    from django.test import Client

    contexts = []

    def make(user=None, *, viewport=None, language: str = "zh-hans", bypass_csp: bool = False):
        # bypass_csp: for tests that poll the page's own scripts with wait_for_function (Playwright evaluates the
        # predicate with eval in the page, which the policy refuses); their pages' policy is checked elsewhere.
        context = browser.new_context(
            viewport=viewport or PHONE,
            locale="zh-CN" if language.startswith("zh") else "en-US",
            base_url=hub_server,
            bypass_csp=bypass_csp,
        )
        contexts.append(context)
        _guard(context, offsite_requests)
        _watch_csp(context, csp_violations)
        cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": hub_server}]
        if user is not None:
            client = Client()
            client.force_login(user)
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session, "url": hub_server})
        context.add_cookies(cookies)
        context.set_default_timeout(10_000)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no horizontal scrolling)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def in_viewport(page, selector: str) -> bool:
    """Whether the first element matching ``selector`` is drawn wholly inside the viewport."""
    return page.evaluate(
        """(selector) => { const el = document.querySelector(selector); if (!el) return false;
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
          && r.bottom <= window.innerHeight && r.right <= window.innerWidth; }""",
        selector,
    )


def monitored_patient(*, county_a, admin, doctor, seed: int, key: str, bed: str) -> dict:
    """A county-A patient referred by ``doctor`` (to the cardiologists), with monitor ``key`` at emergency bed
    ``bed`` bound to them by the site's ``admin``; the live buffers and device cache start empty."""
    from hub.devices.ingest.buffer import buffer_clear
    from hub.devices.selectors import device_cache_clear
    from hub.devices.services import device_bind, device_register
    from tests.factories import patient_resource
    from tests.hub.consultations.conftest import consult
    from tests.hub.referrals.conftest import store

    buffer_clear()
    device_cache_clear()
    patient = store(patient_resource(seed), owner="county-a")
    consult(doctor, patient)
    device = device_register(site=county_a, key=key, ward="急诊", bed=bed)
    device_bind(device=device, patient_ref=f"Patient/{patient['id']}", user=admin)
    return patient
