"""Who sees which notifications and which outbox deliveries.

- A notification is its recipient's alone: every list, count and mark-read is filtered by
  ``notifications_visible(user)`` (another user's id answers as a missing one).
- Outbox deliveries (dead letters and their re-send) are for those who run the network: a site's
  administrator sees the deliveries concerning their own site, the platform operator all of them.
"""

from __future__ import annotations

from hub.access.actors import user_kind
from hub.access.constants import ActorKind


def notifications_visible(user):
    from hub.notifications.models import UserNotification

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return UserNotification.objects.none()
    return UserNotification.objects.filter(user_id=user.pk)


def outbox_sites_visible(user) -> list[str] | None:
    """The sites whose deliveries the user may see and re-send: None for all, [] for none."""
    kind = user_kind(user)
    if kind == ActorKind.SUPERUSER:
        return None
    if kind == ActorKind.SITE_ADMIN and user.site_id:
        return [user.site.code]
    return []
