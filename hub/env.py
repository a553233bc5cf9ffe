"""Typed readers for settings from the environment (12-factor).

Each helper fails loudly on a value it cannot parse, and every one of them
accepts ``NAME_FILE`` (a path whose content is the value) so that secrets can
come from mounted files instead of the process environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ImproperlyConfiguredEnv(ValueError):
    """An environment variable is present but its value is unusable."""


def _raw(name: str, environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    file_name = env.get(f"{name}_FILE")
    if file_name:
        path = Path(file_name)
        if not path.is_file():
            raise ImproperlyConfiguredEnv(f"{name}_FILE points to {file_name!r}, which is not a readable file")
        return path.read_text(encoding="utf-8").strip()
    return env.get(name)


def env_str(name: str, default: str | None = None, *, environ: dict[str, str] | None = None) -> str | None:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ: dict[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name} must be a boolean (true/false/1/0/yes/no/on/off), got {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: dict[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{name} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{name} must be <= {maximum}, got {number}")
    return number


def env_list(name: str, default: list[str], *, environ: dict[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, *, schemes: tuple[str, ...], environ: dict[str, str] | None = None) -> str | None:
    """A URL whose scheme is one of ``schemes``; ``None`` when unset or empty."""
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ImproperlyConfiguredEnv(f"{name} must be a URL with scheme {' or '.join(schemes)}, got {value!r}")
    if not (parts.hostname or parts.path or parts.query):
        raise ImproperlyConfiguredEnv(f"{name} has no host: {value!r}")
    return value


def redis_database(url: str) -> int:
    """The database number a ``redis://`` URL selects (``/3``; ``?db=3`` for ``unix://``), 0 when it names none."""
    from urllib.parse import parse_qs

    parts = urlsplit(url)
    path = "" if parts.scheme == "unix" else parts.path.strip("/")  # a unix socket's path is the socket's
    raw = path or (parse_qs(parts.query).get("db") or ["0"])[-1]
    if not raw.isdigit():
        raise ImproperlyConfiguredEnv(f"REDIS_URL names a database that is not a number: {url!r}")
    return int(raw)


def database_config(url: str) -> dict:
    """Django DATABASES entry for a ``postgres://`` / ``postgresql://`` URL."""
    from urllib.parse import parse_qs, unquote

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfiguredEnv(f"DATABASE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or (parts.hostname or "")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfiguredEnv("DATABASE_URL names no database")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfiguredEnv(f"DATABASE_URL has a bad port: {url!r}") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": query,
        "CONN_MAX_AGE": 0,
    }
