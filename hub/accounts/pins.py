"""The PIN a clinician types to sign an opinion: set on their profile page, stored only as a password hash.

Repeated wrong PINs lock signing for a while (counted in the cache), so a PIN cannot be guessed at the bedside.
Every signature a person makes (an opinion, an addendum, a room ended with its conclusion; from a page or the API)
passes ``signing_pin_require``: a session or a bearer token alone never signs for a clinician.
"""

from __future__ import annotations

import re

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.utils.translation import gettext as _

from hub.api_errors import DomainError

PIN_SHAPE = re.compile(r"^\d{6}$")
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60


def _failures_key(user) -> str:
    return f"signing-pin-failures:{user.pk}"


def signing_pin_set(*, user, pin: str) -> None:
    """Set (or change) the user's signing PIN: six digits, not all the same nor a run like 123456."""
    pin = (pin or "").strip()
    if not PIN_SHAPE.match(pin):
        raise DomainError(_("A signing PIN is six digits."), code="invalid_pin")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise DomainError(_("Choose a PIN that is not easy to guess."), code="invalid_pin")
    user.signing_pin = make_password(pin)
    user.save(update_fields=["signing_pin"])
    cache.delete(_failures_key(user))


def signing_pin_clear(*, user) -> None:
    """Nothing is signed for ``user`` until they set a new PIN (a possibly compromised phone or key)."""
    user.signing_pin = ""
    user.save(update_fields=["signing_pin"])
    cache.delete(_failures_key(user))


def signing_pin_is_set(user) -> bool:
    return bool(getattr(user, "signing_pin", ""))


def signing_pin_check(*, user, pin: str) -> None:
    """Pass when ``pin`` is the user's signing PIN; else ``DomainError`` (``invalid_pin``), the same for any cause."""
    if not signing_pin_is_set(user):
        raise DomainError(_("Set a signing PIN on your profile page first."), code="signing_pin_not_set")
    failures = cache.get(_failures_key(user), 0)
    if failures >= MAX_FAILURES:
        raise DomainError(_("Too many wrong PINs: signing is locked for 15 minutes."), code="invalid_pin")
    if not check_password((pin or "").strip(), user.signing_pin):
        cache.set(_failures_key(user), failures + 1, LOCK_SECONDS)
        raise DomainError(_("The signing PIN is not right."), code="invalid_pin")
    cache.delete(_failures_key(user))


class _DemoDataSigning:
    """The one signature made with nobody at the keyboard: the demo data's builder (``hub.demo``), in-process.

    Not a string, so no request's input (form or JSON) can ever be it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEMO_DATA_NO_PIN"


DEMO_DATA_NO_PIN = _DemoDataSigning()
SigningPin = str | _DemoDataSigning  # what the signing services take as ``pin``


def signing_pin_require(*, user, pin: SigningPin) -> None:
    """Before any signature: ``pin`` (a string, from the signer) is checked by ``signing_pin_check`` (wrong tries
    count toward the lock). Only the demo data's builder passes ``DEMO_DATA_NO_PIN`` instead."""
    if pin is DEMO_DATA_NO_PIN:
        return
    if not isinstance(pin, str):
        raise TypeError(f"a signing PIN is a string, not {type(pin).__name__}")
    signing_pin_check(user=user, pin=pin)
