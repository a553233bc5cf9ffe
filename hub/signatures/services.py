"""Signing an opinion and verifying it: Ed25519 over the canonical opinion (canonical JSON).

The signature string stored with the opinion is ``ed25519:<key id>:<base64 signature>``. The signed payload
(``opinion_payload``) is what the opinion says and who said it when: its identifier, the request and the
patient it answers, the opinion it appends to, the author, title, conclusion, recommendations and the signing
time, serialized as JSON with sorted keys, no spaces, UTF-8. Anyone holding the payload, the signature and the
published public key can check it without the hub; ``GET /api/signatures/opinions/<uid>`` does it for them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from cryptography.exceptions import InvalidSignature

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
    reason: str  # valid | altered | unknown-key | wrong-signer | not-signed
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
    return Verification(True, "valid", key, payload, encoded)


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
