"""What a notification is: an event, its recipients and the words shown to them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str = ""
    phone: str = ""
    language: str = ""

    @classmethod
    def of(cls, user) -> Recipient:
        return cls(user_id=user.pk, email=user.email or "", phone=getattr(user, "phone", "") or "")


@dataclass(frozen=True)
class Notification:
    event: str  # e.g. "referral.routed"
    title: str
    body: str
    recipients: tuple[Recipient, ...]
    payload: dict = field(default_factory=dict)  # JSON-serializable detail for the browser
    at: str = ""  # ISO timestamp of the event

    def as_message(self) -> dict:
        return {"event": self.event, "title": self.title, "body": self.body, "at": self.at, **self.payload}


def user_group(user_id: int) -> str:
    """The Channels group every open browser tab of one user joins."""
    return f"user.{user_id}"
