"""Delivery handlers by message kind: how a message of each kind is sent, registered by the app that owns it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class GiveUp(Exception):  # noqa: N818 - what the handler says, not an error of ours
    """Raised by a handler when retrying cannot help (the receiver refused the content): a dead letter now."""


class Retry(Exception):  # noqa: N818
    """Raised by a handler for a failure worth retrying, with the words to record (any other exception is
    retried too, recorded as ``Type: message``)."""


@dataclass(frozen=True)
class Handler:
    kind: str
    # Sends one message, outside any transaction and any row lock; returns a small JSON-able result (e.g. the
    # receiver's Location) or raises: ``GiveUp`` for a permanent refusal, anything else to be retried.
    send: Callable
    # Called inside the transactions that claim a message and record its outcome (state, attempts,
    # last_error, dead_reason already set): mirror them on the caller's own records. No network here.
    recorded: Callable | None = None


_HANDLERS: dict[str, Handler] = {}


def handler_register(kind: str, *, send: Callable, recorded: Callable | None = None) -> Handler:
    """Register (or replace) the handler of ``kind``; call it from your ``AppConfig.ready``."""
    handler = Handler(kind=kind, send=send, recorded=recorded)
    _HANDLERS[kind] = handler
    return handler


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)
