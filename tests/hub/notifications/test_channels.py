"""Email and text channels, and nothing sent for a write that rolls back."""

from __future__ import annotations

import pytest
from django.db import transaction

from hub.notifications.delivery import TextChannel
from hub.notifications.events import notification_deliver, notify_on_commit
from hub.notifications.message import Notification, Recipient


class RecordingGateway:
    """A text gateway that keeps what it was asked to send (stands in for an SMS/WeChat provider)."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send_text(self, *, to: str, text: str) -> None:
        self.sent.append((to, text))


@pytest.mark.django_db(transaction=True)
def test_an_email_goes_to_each_recipient_after_commit(cardiologist_zhang, neurologist_zhou, mailoutbox):
    cardiologist_zhang.email = "zhang@general.example"
    cardiologist_zhang.save()

    with transaction.atomic():
        notify_on_commit(
            event="referral.routed",
            recipients=[cardiologist_zhang, neurologist_zhou],
            title="New urgent request",
            body="胸痛",
        )
        assert mailoutbox == []

    assert [(m.to, m.subject) for m in mailoutbox] == [(["zhang@general.example"], "New urgent request")]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_for_a_write_that_rolls_back(cardiologist_zhang, mailoutbox):
    cardiologist_zhang.email = "zhang@general.example"
    cardiologist_zhang.save()

    with pytest.raises(RuntimeError), transaction.atomic():
        notify_on_commit(event="referral.routed", recipients=[cardiologist_zhang], title="t", body="b")
        raise RuntimeError("rolled back")

    assert mailoutbox == []


def test_urgent_events_are_texted_through_the_configured_gateway(settings):
    settings.NOTIFICATION_TEXT_EVENTS = ["referral.escalated"]
    gateway = RecordingGateway()
    channel = TextChannel(gateway=gateway)
    people = (Recipient(user_id=1, phone="13800000001"), Recipient(user_id=2))

    channel.deliver(
        Notification(event="referral.escalated", title="Request escalated", body="胸痛 10分钟未接诊", recipients=people)
    )
    channel.deliver(Notification(event="referral.accepted", title="Accepted", body="", recipients=people))

    assert gateway.sent == [("13800000001", "Request escalated: 胸痛 10分钟未接诊")]


def test_a_failing_channel_does_not_stop_the_others(settings, mailoutbox):
    settings.NOTIFICATION_CHANNELS = [
        "tests.hub.notifications.test_channels.BrokenChannel",
        "hub.notifications.delivery.EmailChannel",
    ]
    notification_deliver(
        notification=Notification(
            event="referral.completed",
            title="Opinion signed",
            body="…",
            recipients=(Recipient(user_id=1, email="li@county-a.example"),),
        )
    )

    assert [m.to for m in mailoutbox] == [["li@county-a.example"]]


class BrokenChannel:
    name = "broken"

    def deliver(self, notification):
        raise ConnectionError("gateway down")
