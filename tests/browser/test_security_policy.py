"""The Content-Security-Policy blocks nothing the pages need: every page below is opened in Chromium and the
``csp_violations`` fixture (its console) must stay empty; the controls that used inline handlers still work."""

from __future__ import annotations

import pytest

from tests.browser.conftest import horizontal_overflow
from tests.browser.test_consultation_room import room  # noqa: F401 - the fixture


def test_signing_in_through_the_form_and_the_clinicians_pages(page_for, dr_li_at_county_a, phone):
    page = page_for(viewport=phone, language="en")
    page.goto("/login/")
    page.fill("#id_username", "dr_li")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    for path in ("/referrals/", "/referrals/new/", "/account/two-factor/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert horizontal_overflow(page) == 0, path
    # The enrolment page's QR code is an inline SVG drawn by the server
    assert page.locator(".qr svg").is_visible()


def test_the_language_switch_works_without_inline_handlers(page_for, dr_li_at_county_a, pc):
    page = page_for(dr_li_at_county_a, viewport=pc, language="zh-hans")
    page.goto("/referrals/")
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    with page.expect_navigation():
        page.select_option('select[name="language"]', "en")
    assert page.evaluate("document.documentElement.lang") == "en"


def test_the_site_admins_pages_and_the_review_filter(page_for, admin_of_county_a, pc):
    page = page_for(admin_of_county_a, viewport=pc, language="en")
    page.goto("/access/reviews/")
    with page.expect_navigation():
        page.select_option("#id_status", index=1)
    assert "status=" in page.url
    page.goto("/dashboard/")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("path", ["/api/docs/", "/admin/", "/o/applications/"])
def test_the_hub_admins_pages(page_for, django_user_model, pc, path):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests")
    page = page_for(root, viewport=pc, language="en")
    page.goto(path)
    page.wait_for_load_state("networkidle")
    if path == "/api/docs/":
        page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)  # Swagger UI started from its file


def test_the_consultation_room_runs_under_the_policy(page_for, room, cardiologist_zhang, pc):  # noqa: F811
    """The room (video, chat, websocket, the patient's records): it connects with nothing blocked."""
    page = page_for(cardiologist_zhang, viewport=pc, language="en")
    page.goto(f"/consultations/rooms/{room.pk}/")
    page.locator("#link-state[data-state=connected]").wait_for(timeout=15_000)
    page.wait_for_timeout(1500)  # the camera, the peer set-up and the first frames
    page.goto("about:blank")  # leave: the socket closes before the context does
