"""Limits on what one request may cost the database."""

from __future__ import annotations

from django.conf import settings


def request_statement_timeout() -> None:
    """Give the server processes' database connections ``statement_timeout`` (``DATABASE_STATEMENT_TIMEOUT_MS``).

    Called by the request-serving entry points (``hub.asgi``, ``hub.wsgi``) before any connection opens, so it
    rides in the connection's start-up packet (no extra round trip per request) and leaves migrations, workers
    and management commands (a reindex, a bulk export) unbounded. PostgreSQL cancels a statement past it; the
    request fails with the usual error answer instead of holding a connection and a lane for minutes.
    """
    milliseconds = getattr(settings, "DATABASE_STATEMENT_TIMEOUT_MS", 0)
    if not milliseconds:
        return
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    given = options.get("options", "")
    if "statement_timeout" not in given:
        options["options"] = f"{given} -c statement_timeout={int(milliseconds)}".strip()
