"""Which rule set applies: a gateway ``Actor`` or a hub user, as one ``Rule``."""

from __future__ import annotations

import time

from fhir_gateway.context import INTERNAL, SYNC, SYSTEM, USER, Actor
from hub.access.constants import AUDITOR_PERMISSION, ActorKind
from hub.access.rules import Rule
from hub.accounts.constants import Role

# actor id -> (user or None, monotonic time read); per process, re-read every 30 s, cleared on save.
_USERS: dict[str, tuple[object, float]] = {}
USER_CACHE_SECONDS = 30


def _user(actor_id: str):
    from hub.accounts.models import User

    entry = _USERS.get(actor_id)
    if entry is None or time.monotonic() - entry[1] > USER_CACHE_SECONDS:
        user = (
            User.objects.select_related("site", "department").filter(pk=actor_id, is_active=True).first()
            if actor_id.isdigit()
            else None
        )
        entry = (user, time.monotonic())
        _USERS[actor_id] = entry
    return entry[0]


def forget_user(sender, instance, **kwargs) -> None:
    """``post_save`` of a user: their next interaction reads them again."""
    _USERS.pop(str(instance.pk), None)


def user_kind(user) -> str:
    """The rule set of a signed-in user (``ActorKind``)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ActorKind.NOBODY
    if user.is_superuser:
        return ActorKind.SUPERUSER
    if user.role not in (Role.COUNTY_DOCTOR, Role.SPECIALIST) and user.has_perm(AUDITOR_PERMISSION):
        return ActorKind.AUDITOR
    if not user.site_id:
        return ActorKind.NOBODY
    return {
        Role.COUNTY_DOCTOR: ActorKind.COUNTY_DOCTOR,
        Role.SPECIALIST: ActorKind.SPECIALIST,
        Role.SITE_ADMIN: ActorKind.SITE_ADMIN,
        Role.OFFICIAL: ActorKind.OFFICIAL,
    }.get(user.role, ActorKind.NOBODY)


def rule_of_user(user) -> Rule:
    kind = user_kind(user)
    site = user.site.code if kind != ActorKind.NOBODY and getattr(user, "site_id", None) else ""
    return Rule(kind=kind, site=site, user=user)


def rule_of(actor: Actor) -> Rule:
    """The rule set of whoever is behind a gateway interaction."""
    if actor.kind == USER:
        return rule_of_user(_user(actor.id))
    if actor.kind == SYSTEM:
        return Rule(kind=ActorKind.SITE_SYSTEM, site=actor.site, scopes=actor.scopes)
    if actor.kind == SYNC:
        return Rule(kind=ActorKind.SYNC, site=actor.site)
    if actor.kind == INTERNAL:
        return Rule(kind=ActorKind.WORKFLOW, site=actor.site)
    return Rule(kind=ActorKind.NOBODY)
