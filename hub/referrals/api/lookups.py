from __future__ import annotations

from django.utils.translation import gettext as _

from hub.accounts.models import User
from hub.api_errors import DomainError


def user_by_username(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).select_related("site", "department").first()
    if user is None:
        raise DomainError(_("Unknown user: %(username)s") % {"username": username}, code="unknown_user")
    return user
