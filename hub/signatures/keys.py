"""Key pairs and their encryption at rest.

A private key is stored as AES-256-GCM ciphertext under a key derived (HKDF-SHA256) from
``HUB_SIGNING_KEY_SECRET`` (default: ``DJANGO_SECRET_KEY``); the key id and owner are its associated data, so a
ciphertext moved to another row does not decrypt. A database dump alone signs nothing.
"""

from __future__ import annotations

import base64
import os
import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction

from hub.signatures.models import SigningKey

_VERSION = "v1"


def _wrapping_key() -> bytes:
    secret = (getattr(settings, "HUB_SIGNING_KEY_SECRET", "") or settings.SECRET_KEY).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"alliance-hub signing keys v1").derive(secret)


def _aad(key_id: str, user_id: int) -> bytes:
    return f"{key_id}:{user_id}".encode()


def private_key_encrypt(raw: bytes, *, key_id: str, user_id: int) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_wrapping_key()).encrypt(nonce, raw, _aad(key_id, user_id))
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def private_key_decrypt(key: SigningKey) -> Ed25519PrivateKey:
    version, _sep, blob = key.private_key_encrypted.partition(":")
    if version != _VERSION:
        raise ValueError(f"unknown private key format {version!r}")
    data = base64.b64decode(blob)
    raw = AESGCM(_wrapping_key()).decrypt(data[:12], data[12:], _aad(key.key_id, key.user_id))
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_of(key: SigningKey) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))


def public_key_pem(key: SigningKey) -> str:
    return (
        public_key_of(key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def signing_key_for(user) -> SigningKey:
    """The user's active key, made on first use (one per user: a unique constraint, the row locked)."""
    key = SigningKey.objects.select_for_update().filter(user=user, revoked_at__isnull=True).first()
    if key is not None:
        return key
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = secrets.token_hex(8)
    try:
        with transaction.atomic():
            return SigningKey.objects.create(
                key_id=key_id,
                user=user,
                public_key=base64.b64encode(raw_public).decode(),
                private_key_encrypted=private_key_encrypt(raw_private, key_id=key_id, user_id=user.pk),
            )
    except IntegrityError:  # a concurrent first signature made it
        return SigningKey.objects.get(user=user, revoked_at__isnull=True)
