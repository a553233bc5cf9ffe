"""The browser's notification feed: each notification shown once although it arrives twice, and what was
missed while the page was away shown when it comes back (``?since=`` the last id the tab saw). The dead-letter
page at a phone's width."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

from hub.notifications.delivery import publisher
from hub.notifications.events import notify_on_commit
from hub.notifications.message import user_group
from hub.notifications.models import UserNotification
from tests.browser.conftest import horizontal_overflow

pytestmark = pytest.mark.browser


def toasts(page, title: str):
    return page.locator(".toast strong", has_text=title)


def test_a_notification_is_shown_once_and_what_was_missed_is_shown_on_return(
    settings, page_for, cardiologist_zhang, pc
):
    settings.NOTIFICATION_RESYNC_SECONDS = 2  # should the socket not have joined its group yet
    page = page_for(cardiologist_zhang, viewport=pc, language="en")
    with page.expect_websocket(lambda ws: "/ws/notifications/" in ws.url):
        page.goto("/referrals/")
    page.wait_for_timeout(500)  # the socket has joined its group

    notify_on_commit(event="referral.routed", recipients=[cardiologist_zhang], title="First request", body="胸痛")
    toasts(page, "First request").wait_for()
    first = UserNotification.objects.get(user=cardiologist_zhang, title="First request")
    layer = get_channel_layer()  # the same notification published again (a retry, another server)
    again = layer.group_send(user_group(cardiologist_zhang.pk), {"type": "notify", "message": first.as_message()})
    publisher.run(again, timeout=5)  # from the publisher's loop: Playwright runs one in this thread
    page.wait_for_timeout(800)
    assert toasts(page, "First request").count() == 1

    page.goto("about:blank")  # away from the hub (no socket) ...
    notify_on_commit(event="referral.routed", recipients=[cardiologist_zhang], title="While away", body="卒中")
    with page.expect_websocket(lambda ws: "/ws/notifications/" in ws.url) as back:
        page.goto("/referrals/")  # ... and back: the tab asks for what came after the last id it saw
    assert f"since={first.pk}" in back.value.url
    toasts(page, "While away").wait_for()
    assert toasts(page, "First request").count() == 0  # seen before: not shown again


def test_the_dead_letter_page_fits_a_phone(page_for, admin_of_county_a, phone):
    from django.utils import timezone

    from federation.outbox.models import OutboxMessage

    now = timezone.now()
    OutboxMessage.objects.create(
        kind="referrals.opinion", destination="site:county-a", site_code="county-a", subject="opinion:1",
        state="dead", retry_from=now, next_attempt_at=now, dead_at=now,
        dead_reason="gave up after 40 attempts in 48.0 h; last error: ConnectError: " + "x" * 300,
    )  # fmt: skip
    page = page_for(admin_of_county_a, viewport=phone, language="en")
    page.goto("/outbox/")
    assert page.locator("text=gave up after 40 attempts").is_visible()
    assert horizontal_overflow(page) == 0
    button = page.locator("button", has_text="Send again").bounding_box()
    assert button["height"] >= 44 and button["width"] >= 44
