"""The lean path: ``GET /fhir/<type>/<id>`` and ``GET /fhir/<type>?...`` without Django's request machinery.

A single-resource read is the gateway's most frequent request and its cheapest work (one primary-key
lookup, the stored JSON text served as is), and an indexed search costs little more; Django's request
object, middleware stack and URL resolver cost about as much CPU as the work itself. This path serves
plain reads and type-level searches with the same services (``services.resource_read_stored`` and
``services.resource_search``: the same access policies and interaction observers, so the same audit
rows), the same status, body and headers, and skips only the machinery.

A request takes it only when the answer is certainly the same as the full path's: GET, no cookie, a
bearer token that a ``hooks.token_resolvers`` entry knows, an allowed Host, an acceptable ``Accept``;
for a read no query string, for a search none of ``_format`` and ``_pretty`` and no ``Prefer`` header.
Anything else, and any token no resolver knows (the full path then answers 401), goes the full way.
``tests/fhir_gateway/test_lean_read.py`` compares both paths header by header.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import orjson
from django.conf import settings
from django.db import connection
from django.http.request import QueryDict, split_domain_port, validate_host
from django.utils import translation

from fhir_gateway import hooks, services
from fhir_gateway.api.handler import (
    RETRY_AFTER,
    id_check,
    internal_error_outcome,
    type_known_check,
    unavailable,
    unavailable_outcome,
)
from fhir_gateway.api.negotiation import accepted_type, not_modified, version_headers
from fhir_gateway.errors import FhirError

logger = logging.getLogger(__name__)

_PATH = re.compile(r"^/fhir/([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})$")
_TYPE_PATH = re.compile(r"^/fhir/([A-Z][A-Za-z]{1,63})$")
# Query parameters that change how the full path renders its answer.
_NEGOTIATING = ("_format", "_pretty")
# Headers whose presence means the full path may answer differently (sessions, CSRF, conditional writes).
_FULL_PATH_HEADERS = frozenset({b"cookie", b"if-match", b"prefer", b"x-forwarded-proto", b"x-forwarded-host"})


READ, SEARCH = "read", "search"


def kind(scope: dict) -> str | None:
    """Cheap checks on the ASGI scope, before any work: ``READ`` or ``SEARCH`` when the lean path could serve
    this request, else ``None``."""
    if scope["method"] != "GET" or scope.get("root_path"):
        return None
    if _PATH.match(scope["path"]) is not None:
        if scope["query_string"]:
            return None
        found = READ
    elif _TYPE_PATH.match(scope["path"]) is not None:
        found = SEARCH
    else:
        return None
    bearer = False
    for name, value in scope["headers"]:
        if name in _FULL_PATH_HEADERS:
            return None
        if name == b"authorization":
            bearer = value[:7].lower() == b"bearer "
    return found if bearer else None


def eligible(scope: dict) -> bool:
    """Could the lean path serve this request?"""
    return kind(scope) is not None


class _LanguageProbe:
    """What ``translation.get_language_from_request`` reads, for a request without cookies."""

    COOKIES: dict = {}

    def __init__(self, accept_language: str):
        self.META = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
        self.path_info = "/fhir/"


@lru_cache(maxsize=256)
def _language(accept_language: str) -> str:
    return translation.get_language_from_request(_LanguageProbe(accept_language), check_path=False)


def _site_headers() -> tuple[tuple[bytes, bytes], ...]:
    """What the hub's middleware adds to every response (security, clickjacking, Content-Security-Policy)."""
    return _headers_of(
        tuple(settings.MIDDLEWARE),
        getattr(settings, "X_FRAME_OPTIONS", "DENY"),
        settings.SECURE_CONTENT_TYPE_NOSNIFF,
        _comma_joined(settings.SECURE_REFERRER_POLICY or ""),
        settings.SECURE_CROSS_ORIGIN_OPENER_POLICY or "",
    ) + _csp_headers(tuple(settings.MIDDLEWARE), repr(getattr(settings, "CONTENT_SECURITY_POLICY", None)))


@lru_cache(maxsize=8)
def _csp_headers(middleware, _policy_key: str) -> tuple:
    """django-csp's header as its middleware writes it (the policy is the same for every answer of this path)."""
    if "csp.middleware.CSPMiddleware" not in middleware:
        return ()
    from csp.utils import build_policy

    policy = build_policy()
    return ((b"content-security-policy", policy.encode()),) if policy else ()


def _comma_joined(value) -> str:
    return value if isinstance(value, str) else ",".join(value)


@lru_cache(maxsize=8)
def _headers_of(middleware, x_frame_options, nosniff, referrer_policy, opener_policy) -> tuple:
    headers = []
    if "django.middleware.clickjacking.XFrameOptionsMiddleware" in middleware:
        headers.append((b"x-frame-options", x_frame_options.upper().encode()))
    if "django.middleware.security.SecurityMiddleware" in middleware:
        if nosniff:
            headers.append((b"x-content-type-options", b"nosniff"))
        if referrer_policy:
            headers.append((b"referrer-policy", referrer_policy.encode()))
        if opener_policy:
            headers.append((b"cross-origin-opener-policy", opener_policy.encode()))
    return tuple(headers)


def _secure_redirects() -> bool:
    return "django.middleware.security.SecurityMiddleware" in settings.MIDDLEWARE and (
        settings.SECURE_SSL_REDIRECT or settings.SECURE_HSTS_SECONDS
    )


def _allowed_host(host: str) -> bool:
    return _host_check(host, tuple(settings.ALLOWED_HOSTS), settings.DEBUG)


@lru_cache(maxsize=64)
def _host_check(host: str, allowed: tuple[str, ...], debug: bool) -> bool:
    domain, _port = split_domain_port(host)
    if debug and not allowed:
        allowed = (".localhost", "127.0.0.1", "[::1]")
    return bool(domain) and validate_host(domain, allowed)


def _actor(raw: str):
    for resolver in hooks.token_resolvers:
        actor = resolver(raw)
        if actor is not None:
            return actor
    return None


def _outcome(error: FhirError) -> tuple[int, dict, bytes]:
    return error.status, dict(error.headers or {}), orjson.dumps(error.outcome())


def _read(resource_type: str, fhir_id: str, actor, headers: dict[bytes, str]) -> tuple[int, dict, bytes]:
    try:
        type_known_check(resource_type)
        id_check(fhir_id)
        stored, _content = services.resource_read_stored(resource_type=resource_type, fhir_id=fhir_id, actor=actor)
        version = version_headers(stored.version_id, stored.last_updated)
        if not_modified(stored, headers.get(b"if-none-match"), headers.get(b"if-modified-since")):
            return 304, version, b""
        return 200, version, stored.text.encode()
    except FhirError as error:
        return _outcome(error)
    except Exception as error:
        return _unexpected(error, f"GET /fhir/{resource_type}/{fhir_id}")


def _search(resource_type: str, params: list, actor, base_url: str) -> tuple[int, dict, bytes]:
    try:
        type_known_check(resource_type)
        bundle = services.resource_search(
            resource_type=resource_type, params=params, actor=actor, base_url=base_url, raw=True
        )
        return 200, {}, orjson.dumps(bundle)
    except FhirError as error:
        return _outcome(error)
    except Exception as error:
        return _unexpected(error, f"GET /fhir/{resource_type}?...")


def _unexpected(error: Exception, what: str) -> tuple[int, dict, bytes]:
    """As the full path answers: 503 to retry when the database is unreachable, else 500."""
    if unavailable(error):
        logger.warning("FHIR request %s: database unavailable (%s)", what, error)
        return 503, dict(RETRY_AFTER), orjson.dumps(unavailable_outcome())
    logger.exception("FHIR request %s failed", what)
    return 500, {}, orjson.dumps(internal_error_outcome())


def _search_params(query_string: bytes) -> list[tuple[str, str]] | None:
    """The parameters as the full path's ``request.GET`` has them, or None when the full path must answer."""
    try:
        query = QueryDict(query_string)
    except ValueError:  # too many fields: the full path's 400
        return None
    if any(name in query for name in _NEGOTIATING):
        return None
    return [(name, value) for name, values in query.lists() for value in values]


def serve(scope: dict) -> tuple[int, list, bytes] | None:
    """Answer an ``eligible`` request, or ``None`` when it must take the full path. Runs in a worker thread."""
    headers = {name: value.decode("latin1") for name, value in scope["headers"]}
    content_type = accepted_type(headers.get(b"accept", ""))  # None: the full path answers 406
    host = headers.get(b"host", "")
    if content_type is None or _secure_redirects() or not _allowed_host(host):
        return None
    read = _PATH.match(scope["path"])
    if read is not None:
        resource_type, fhir_id = read.groups()
        params = None
    else:
        resource_type, fhir_id = _TYPE_PATH.match(scope["path"]).group(1), None
        params = _search_params(scope["query_string"])
        if params is None:
            return None
    raw = headers[b"authorization"][7:].strip()
    # What Django's request_started/request_finished receivers do for the one connection used here.
    connection.close_if_unusable_or_obsolete()
    try:
        try:
            actor = _actor(raw)
        except Exception:  # e.g. the database unreachable: the full path answers it as it answers any request
            logger.exception("token resolution on the lean read path failed")
            return None
        if actor is None:
            return None
        language = _language(headers.get(b"accept-language", ""))
        if translation.get_language() != language:
            translation.activate(language)  # as LocaleMiddleware does for each request in this thread
        if fhir_id is not None:
            status, extra, body = _read(resource_type, fhir_id, actor, headers)
        else:  # what ``request.build_absolute_uri(reverse("fhir:base"))`` gives the full path
            base_url = f"{scope.get('scheme') or 'http'}://{host}/fhir"
            status, extra, body = _search(resource_type, params, actor, base_url)
    finally:
        connection.close_if_unusable_or_obsolete()
    out = [(b"content-type", f"{content_type}; charset=utf-8".encode())]
    out += [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in extra.items()]
    out += [
        (b"content-length", str(len(body)).encode()),
        (b"vary", b"Accept-Language"),
        (b"content-language", language.encode()),
        *_site_headers(),
    ]
    return status, out, body
