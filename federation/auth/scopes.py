"""SMART backend-services scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).

``system/<Type|*>.<read|write|*>`` (SMART v1) and ``system/<Type|*>.<cruds>`` (SMART v2). A site's
client may be granted only the scopes listed on its ``SiteClient``.
"""

from __future__ import annotations

import re

from oauth2_provider.scopes import BaseScopes

_SCOPE = re.compile(r"^system/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)$")
READ_ACTIONS = {"read": "r", "vread": "r", "search": "s", "history": "r", "operation": "r"}
WRITE_ACTIONS = {"create": "c", "update": "u", "patch": "u", "delete": "d"}


def scope_valid(scope: str) -> bool:
    return bool(_SCOPE.match(scope))


def scopes_allow(scopes: frozenset[str] | set[str], resource_type: str, action: str) -> bool:
    """Whether ``scopes`` permit ``action`` (a gateway interaction) on ``resource_type``."""
    letter = READ_ACTIONS.get(action) or WRITE_ACTIONS.get(action)
    if letter is None:
        return False
    for scope in scopes:
        match = _SCOPE.match(scope)
        if match is None or match.group(1) not in ("*", resource_type):
            continue
        perm = match.group(2)
        if perm == "*" or (perm == "read" and action in READ_ACTIONS) or (perm == "write" and action in WRITE_ACTIONS):
            return True
        if perm not in ("read", "write") and letter in perm:
            return True
    return False


def scoped_types(scopes: frozenset[str] | set[str], actions: tuple[str, ...]) -> frozenset[str] | None:
    """The resource types on which ``scopes`` permit any of ``actions`` (None: every type, a ``*`` scope)."""
    types: set[str] = set()
    for scope in scopes:
        match = _SCOPE.match(scope)
        if match is None:
            continue
        if any(scopes_allow({scope}, match.group(1) if match.group(1) != "*" else "Patient", a) for a in actions):
            if match.group(1) == "*":
                return None
            types.add(match.group(1))
    return frozenset(types)


class SiteScopes(BaseScopes):
    """django-oauth-toolkit scopes backend: each client gets the scopes of its ``SiteClient``."""

    def get_all_scopes(self):
        return {"system/*.read": "Read every record of the site", "system/*.write": "Write the site's records"}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        client = getattr(application, "site_client", None) if application is not None else None
        return client.allowed_scopes if client is not None and client.active else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)
