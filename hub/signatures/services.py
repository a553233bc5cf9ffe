"""Signing an opinion and verifying it: Ed25519 over the canonical opinion (canonical JSON).

The signature string stored with the opinion is ``ed25519:<key id>:<base64 signature>``. The signed payload
(``opinion_payload``) is what the opinion says and who said it when: its identifier, the request and the
patient it answers, the opinion it appends to, the author, title, conclusion, recommendations and the signing
time, serialized as JSON with sorted keys, no spaces, UTF-8. Anyone holding the payload, the signature and the
published public key can check it without the hub; ``GET /api/signatures/opinions/<uid>`` does it for them.

A key is retired (``signing_key_rotate``) by setting its ``revoked_at``: routinely now, or for a compromise the
time it may have been compromised since. An opinion whose ``signed_at`` is at or after its key's ``revoked_at``
is not valid (``revoked-key``); opinions signed before stay valid. The next signature makes a new key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hub.accounts.pins import signing_pin_clear
from hub.api_errors import DomainError
from hub.referrals.constants import USER_ID_SYSTEM
from hub.signatures.keys import private_key_decrypt, public_key_of, signing_key_for
from hub.signatures.models import ED25519, SigningKey

PAYLOAD_TYPE = "alliance-hub/opinion/v1"

SCHEME = "ed25519"


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def opinion_payload(opinion, *, key_id: str) -> dict:
    """The canonical opinion that the signature covers (every part of it is immutable once signed)."""
    referral = opinion.referral
    return {
        "type": PAYLOAD_TYPE,
        "key": key_id,
        "opinion": str(opinion.uid),
        "appends": str(opinion.appends.uid) if opinion.appends_id else None,
        "request": str(referral.uid),
        "subject": referral.patient_ref,
        "author": {"system": USER_ID_SYSTEM, "value": opinion.author.username},
        "title": opinion.title,
        "conclusion": opinion.conclusion,
        "recommendations": opinion.recommendations,
        "signed_at": opinion.signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def opinion_signature_make(*, opinion) -> str:
    """Sign ``opinion`` (not yet saved) with its author's key; call inside the signing transaction."""
    key = signing_key_for(opinion.author)
    signature = private_key_decrypt(key).sign(canonical_json(opinion_payload(opinion, key_id=key.key_id)))
    return f"{SCHEME}:{key.key_id}:{base64.b64encode(signature).decode()}"


@dataclass(frozen=True)
class Verification:
    """What checking one opinion's signature found."""

    valid: bool
    reason: str  # valid | altered | unknown-key | wrong-signer | not-signed | revoked-key
    key: SigningKey | None
    payload: dict | None
    signature: str

    @property
    def digest(self) -> str | None:
        return hashlib.sha256(canonical_json(self.payload)).hexdigest() if self.payload is not None else None


def opinion_signature_check(*, opinion) -> Verification:
    """Whether the opinion as the hub holds it now is the one its author signed."""
    scheme, _sep, rest = (opinion.signature or "").partition(":")
    key_id, _sep, encoded = rest.partition(":")
    if scheme != SCHEME or not key_id or not encoded:
        # Opinions signed before the hub's signatures were keyed by clinicians (an HMAC of the hub's secret)
        return Verification(False, "not-signed", None, None, "")
    key = SigningKey.objects.select_related("user").filter(key_id=key_id, algorithm=ED25519).first()
    if key is None:
        return Verification(False, "unknown-key", None, None, encoded)
    payload = opinion_payload(opinion, key_id=key_id)
    if key.user_id != opinion.author_id:
        return Verification(False, "wrong-signer", key, payload, encoded)
    try:
        public_key_of(key).verify(base64.b64decode(encoded, validate=True), canonical_json(payload))
    except (InvalidSignature, ValueError):
        return Verification(False, "altered", key, payload, encoded)
    if key.revoked_at is not None and opinion.signed_at >= key.revoked_at:
        return Verification(False, "revoked-key", key, payload, encoded)
    return Verification(True, "valid", key, payload, encoded)


# What each verification reason means, for people (the API's ``reason_text``, pages).
REASONS = {
    "valid": gettext_lazy("Authentic and unaltered: signed by its author's key."),
    "altered": gettext_lazy("The opinion differs from what was signed."),
    "unknown-key": gettext_lazy("Signed with a key the hub does not know."),
    "wrong-signer": gettext_lazy("Signed with a key that is not its author's."),
    "not-signed": gettext_lazy("Signed before clinicians' keys: no verifiable signature."),
    "revoked-key": gettext_lazy("Signed with a key at or after its revocation: not valid."),
}


@dataclass(frozen=True)
class Rotation:
    """What ``signing_key_rotate`` did: the keys it retired (or retired earlier) and when from."""

    retired: list[SigningKey]
    revoked_at: datetime
    compromised: bool


def _audit_rotation(*, user, rotation: Rotation, by: str) -> None:
    from fhir_gateway.context import INTERNAL, OPERATION, Actor, Interaction
    from fhir_gateway.interactions import observe

    interaction = Interaction(
        actor=Actor(kind=INTERNAL, id="signing_key_rotate", display=(by or "manage.py")[:255]),
        action=OPERATION,
        resource_type="SigningKey",
        operation="signing-key-rotate",
        detail={
            "owner": user.site.code if user.site_id else "",
            "user": user.username,
            "keys": " ".join(key.key_id for key in rotation.retired),
            "revoked_at": rotation.revoked_at.isoformat(),
            "reason": "compromised" if rotation.compromised else "routine",
        },
    )
    observe(interaction, 200, None)


@transaction.atomic
def signing_key_rotate(*, user, compromised_since: datetime | None = None, by: str = "") -> Rotation:
    """Retire ``user``'s signing key: the next signature makes a new one (``keys.signing_key_for``).

    Routinely the active key's ``revoked_at`` is now: everything signed so far stays valid. With
    ``compromised_since`` (an aware time, not in the future) every key of theirs still in use then is revoked
    from that time: what was signed with it since is no longer valid, and the signing PIN is cleared (nothing is
    signed for them until they set a new one on their profile page). Published keys keep listing retired keys.
    Recorded in the audit trail (``by``: who ran it).
    """
    if compromised_since is not None:
        if timezone.is_naive(compromised_since):
            raise DomainError(_("The time of a compromise needs a time zone."), code="invalid")
    keys = list(SigningKey.objects.select_for_update().filter(user=user).order_by("created_at", "pk"))
    now = timezone.now()  # taken once the user's keys are locked: a signature in progress has finished
    if compromised_since is None:
        revoked_at, retired = now, [key for key in keys if key.revoked_at is None]
    else:
        if compromised_since > now:
            raise DomainError(_("The time of a compromise cannot be in the future."), code="invalid")
        revoked_at = compromised_since
        retired = [key for key in keys if key.revoked_at is None or key.revoked_at > compromised_since]
    SigningKey.objects.filter(pk__in=[key.pk for key in retired]).update(revoked_at=revoked_at)
    for key in retired:
        key.revoked_at = revoked_at
    if compromised_since is not None:
        signing_pin_clear(user=user)
    rotation = Rotation(retired=retired, revoked_at=revoked_at, compromised=compromised_since is not None)
    _audit_rotation(user=user, rotation=rotation, by=by)
    return rotation


def opinion_signature_extensions(*, opinion) -> list[dict]:
    """The signature as FHIR extensions of the Composition a site receives: the signature string and the signed
    payload (base64 of the canonical JSON), enough to verify it offline with the published public key."""
    extensions = [{"url": "urn:alliance-hub:signature", "valueString": opinion.signature}]
    scheme, _sep, rest = (opinion.signature or "").partition(":")
    if scheme == SCHEME:
        payload = canonical_json(opinion_payload(opinion, key_id=rest.partition(":")[0]))
        extensions.append(
            {"url": "urn:alliance-hub:signed-payload", "valueBase64Binary": base64.b64encode(payload).decode()}
        )
    return extensions
