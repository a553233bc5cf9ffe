"""Notifications kept per user, so that a client that was away gets what it missed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserNotification(models.Model):
    """One notification as one user receives it; its id is what clients resume from and deduplicate on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(_("event"), max_length=64)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    payload = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["user", "id"], name="notification_user_id"),
            models.Index(fields=["user", "id"], name="notification_user_unread", condition=models.Q(read_at=None)),
        ]

    def __str__(self) -> str:
        return self.title

    def as_message(self) -> dict:
        """What the websocket sends: the detail's keys at the top level, as before ids were kept."""
        message = {"event": self.event, "title": self.title, "body": self.body, "at": self.created_at.isoformat()}
        return {**message, **self.payload, "id": self.pk}
