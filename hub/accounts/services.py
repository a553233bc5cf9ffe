"""Users, their membership rules and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from federation.sites.constants import SiteKind
from federation.sites.models import Department, Site
from hub.accounts.constants import TOKEN_PREFIX, Role
from hub.accounts.models import ApiToken, User

# Which kinds of site each role may belong to.
ROLE_SITE_KINDS: dict[str, set[str]] = {
    Role.COUNTY_DOCTOR: {SiteKind.COUNTY},
    Role.SPECIALIST: {SiteKind.GENERAL},
    Role.OFFICIAL: {SiteKind.ALLIANCE},
    Role.SITE_ADMIN: {SiteKind.ALLIANCE, SiteKind.GENERAL, SiteKind.COUNTY},
}


def user_membership_check(*, role: str, site: Site | None, department: Department | None) -> None:
    """Raise ``ValidationError`` unless the role, site and department fit together."""
    if not role:
        if department is not None and site is None:
            raise ValidationError({"department": _("A department needs a site.")})
        return
    if site is None:
        raise ValidationError({"site": _("Users with a role belong to a site.")})
    if site.kind not in ROLE_SITE_KINDS[role]:
        raise ValidationError(
            {
                "site": _("A %(role)s cannot belong to a %(kind)s.")
                % {"role": Role(role).label, "kind": site.get_kind_display()}
            }
        )
    if role == Role.SPECIALIST and department is None:
        raise ValidationError({"department": _("A specialist belongs to a department.")})
    if department is not None and department.site_id != site.pk:
        raise ValidationError({"department": _("The department belongs to another site.")})


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: str,
    site: Site,
    department: Department | None = None,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    user_membership_check(role=role, site=site, department=department)
    user = User(
        username=username,
        role=role,
        site=site,
        department=department,
        display_name=display_name,
        email=email,
        phone=phone,
        is_staff=is_staff or role == Role.SITE_ADMIN,
        is_superuser=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user: User, name: str = "", expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the raw token, which is shown once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, digest=_digest(raw), prefix=raw[: len(TOKEN_PREFIX) + 6], expires_at=expires_at
    )
    return token, raw


# digest -> (user, expires_at, monotonic time fetched). A token is looked up in the database at most
# every TOKEN_CACHE_SECONDS per process; revoking a token or deactivating a user clears this process's
# cache at once (signals) and reaches the other processes within that many seconds.
TOKEN_CACHE_SECONDS = 10.0
_token_cache: dict[str, tuple[User, datetime | None, float]] = {}


def api_token_cache_clear(*args, **kwargs) -> None:
    _token_cache.clear()


def api_token_authenticate(raw: str) -> User | None:
    """The active user owning ``raw``, or ``None``."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    digest = _digest(raw)
    now = timezone.now()
    cached = _token_cache.get(digest)
    if cached is not None and time.monotonic() - cached[2] < TOKEN_CACHE_SECONDS:
        user, expires_at, _fetched = cached
        return user if expires_at is None or expires_at > now else None
    token = (
        ApiToken.objects.select_related("user", "user__site", "user__department")
        .filter(digest=digest, revoked=False)
        .first()
    )
    if token is None or not token.user.is_active:
        _token_cache.pop(digest, None)
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if len(_token_cache) > 10_000:
        _token_cache.clear()
    _token_cache[digest] = (token.user, token.expires_at, time.monotonic())
    return token.user
