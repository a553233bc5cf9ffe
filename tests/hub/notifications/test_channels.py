"""Email and text channels (through the outbox), and nothing sent for a write that rolls back."""

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


@pytest.mark.django_db(transaction=True)
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


class OutboxGateway:
    """A text gateway configured by dotted path, as deployments do; what it sent is kept on the class."""

    sent: list[tuple[str, str, str]] = []

    def send_text(self, *, to: str, text: str, idempotency_key: str = "") -> None:
        OutboxGateway.sent.append((to, text, idempotency_key))


@pytest.mark.django_db(transaction=True)
def test_texts_and_emails_are_outbox_deliveries_written_with_the_change(settings, cardiologist_zhang, mailoutbox):
    from federation.outbox.models import OutboxMessage

    settings.NOTIFICATION_CHANNELS = [
        "hub.notifications.delivery.EmailChannel",
        "hub.notifications.delivery.TextChannel",
    ]
    settings.NOTIFICATION_TEXT_GATEWAY = "tests.hub.notifications.test_channels.OutboxGateway"
    OutboxGateway.sent = []
    cardiologist_zhang.email, cardiologist_zhang.phone = "zhang@general.example", "13800000001"
    cardiologist_zhang.save()

    with transaction.atomic():
        notify_on_commit(event="referral.escalated", recipients=[cardiologist_zhang], title="Escalated", body="胸痛")
        assert sorted(OutboxMessage.objects.values_list("kind", "state")) == [
            ("notifications.email", "pending"),
            ("notifications.text", "pending"),
        ]
        assert mailoutbox == [] and OutboxGateway.sent == []

    text = OutboxMessage.objects.get(kind="notifications.text")
    assert OutboxGateway.sent == [("13800000001", "Escalated: 胸痛", str(text.event_id))]
    [email] = mailoutbox
    assert email.to == ["zhang@general.example"]
    email_message = OutboxMessage.objects.get(kind="notifications.email")
    assert email.extra_headers["Message-ID"].startswith(f"<{email_message.event_id}@")
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"delivered"}
