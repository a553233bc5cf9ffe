"""The browser harness itself: the hub served with websockets, a signed-in page, nothing fetched off-site."""

from __future__ import annotations

from tests.browser.conftest import horizontal_overflow


def test_the_login_page_fits_a_phone_and_is_in_chinese(page_for, phone):
    page = page_for(viewport=phone)
    page.goto("/login/")
    assert page.locator('input[name="password"]').is_visible()
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    assert horizontal_overflow(page) == 0


def test_a_signed_in_doctor_gets_the_live_notification_socket(page_for, dr_li_at_county_a, pc):
    page = page_for(dr_li_at_county_a, viewport=pc, language="en")
    with page.expect_websocket(lambda ws: "/ws/notifications/" in ws.url) as socket_info:
        page.goto("/referrals/")
    socket = socket_info.value
    assert not socket.is_closed()
    assert page.locator("text=李明").first.is_visible()
