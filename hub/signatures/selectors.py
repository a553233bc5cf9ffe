"""Reads of the signatures: published keys, and one opinion for its verification (as the caller may see it)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from hub.access.referrals import can_view
from hub.api_errors import NotFoundError
from hub.signatures.models import SigningKey


def signing_keys_published(*, user: str = ""):
    keys = SigningKey.objects.select_related("user").order_by("created_at", "pk")
    return keys.filter(user__username=user) if user else keys


def signing_key_get(*, key_id: str) -> SigningKey:
    key = SigningKey.objects.select_related("user").filter(key_id=key_id).first()
    if key is None:
        raise NotFoundError(_("No such key."))
    return key


def opinion_for_verification(*, user, uid):
    """The opinion ``uid`` if ``user`` may see its request; the same 404 whether it is missing or not theirs."""
    from hub.referrals.models import Opinion

    opinion = (
        Opinion.objects.select_related("referral", "author", "appends", "referral__requesting_site")
        .filter(uid=uid)
        .first()
    )
    if opinion is None or not can_view(user, opinion.referral):
        raise NotFoundError(_("No such opinion."))
    return opinion
