"""What a notification is: an event, its recipients and the words shown to them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str = ""
    phone: str = ""
    language: str = ""
    site_code: str = ""
    notification_id: int | None = None  # the stored UserNotification of this recipient, once stored

    @classmethod
    def of(cls, user) -> Recipient:
        site = getattr(user, "site", None) if getattr(user, "site_id", None) else None
        return cls(
            user_id=user.pk,
            email=user.email or "",
            phone=getattr(user, "phone", "") or "",
            site_code=getattr(site, "code", "") or "",
        )


@dataclass(frozen=True)
class Notification:
    event: str  # e.g. "referral.routed"
    title: str
    body: str
    recipients: tuple[Recipient, ...]
    payload: dict = field(default_factory=dict)  # JSON-serializable detail for the browser
    at: str = ""  # ISO timestamp of the event

    def as_message(self, recipient: Recipient | None = None) -> dict:
        message = {"event": self.event, "title": self.title, "body": self.body, "at": self.at, **self.payload}
        if recipient is not None and recipient.notification_id is not None:
            message["id"] = recipient.notification_id
        return message


def user_group(user_id: int) -> str:
    """The Channels group every open browser tab of one user joins."""
    return f"user.{user_id}"
