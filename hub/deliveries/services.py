"""Dead letters for site administrators: the list they may see, and the re-send."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from federation.outbox.models import MessageState, OutboxMessage
from federation.outbox.selectors import messages_for_sites
from federation.outbox.services import outbox_resend
from hub.access.notifications import outbox_sites_visible
from hub.api_errors import ForbiddenError, NotFoundError

STATES = [state for state, _label in MessageState.choices]


def _sites(user) -> list[str] | None:
    sites = outbox_sites_visible(user)
    if sites == []:
        raise ForbiddenError(_("Only site administrators see the deliveries that leave the hub."))
    return sites


def delivery_list(*, user, state: str = MessageState.DEAD, site: str = "") -> QuerySet[OutboxMessage]:
    messages = messages_for_sites(_sites(user)).filter(state=state or MessageState.DEAD)
    if site:
        messages = messages.filter(site_code=site)
    return messages.order_by("-pk")


def delivery_resend(*, user, message_id: int) -> OutboxMessage:
    """Send a dead letter again now (a fresh retry window); one the user may not see is missing to them."""
    if not messages_for_sites(_sites(user)).filter(pk=message_id, state=MessageState.DEAD).exists():
        raise NotFoundError(_("No such dead letter."))
    return outbox_resend(message_id=message_id)
