"""``/api/signatures/``: clinicians' public keys, and whether a signed opinion is authentic and unaltered."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api_schema import errors
from hub.pagination import StrictLimitOffsetPagination
from hub.signatures.keys import public_key_pem
from hub.signatures.selectors import opinion_for_verification, signing_key_get, signing_keys_published
from hub.signatures.services import REASONS, opinion_signature_check


class SignerSerializer(serializers.Serializer):
    system = serializers.CharField()
    value = serializers.CharField()
    display = serializers.CharField()


class KeySerializer(serializers.Serializer):
    key = serializers.CharField(source="key_id")
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the raw 32-byte Ed25519 public key.")
    public_key_pem = serializers.SerializerMethodField(help_text="The same key as PEM (SubjectPublicKeyInfo).")
    practitioner = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the key was retired (rotated, or compromised since): what it signed from then on is not valid.",
    )

    def get_public_key_pem(self, key) -> str:
        return public_key_pem(key)

    @extend_schema_field(SignerSerializer)
    def get_practitioner(self, key) -> SignerSerializer:
        return _signer(key.user)


def _signer(user) -> dict:
    return {"system": "urn:alliance-hub:user", "value": user.username, "display": user.display_name or user.username}


class VerificationSerializer(serializers.Serializer):
    opinion = serializers.UUIDField()
    valid = serializers.BooleanField(help_text="Authentic (signed by its author's published key) and unaltered.")
    reason = serializers.ChoiceField(
        choices=list(REASONS),
        help_text="valid; altered (the opinion differs from what was signed); unknown-key; wrong-signer (the key "
        "is not the author's); not-signed (signed before clinicians' keys, with no verifiable signature); "
        "revoked-key (signed at or after its key's `revoked_at`: the key was retired, e.g. compromised since).",
    )
    reason_text = serializers.CharField(help_text="What `reason` means, in the caller's language.")
    algorithm = serializers.CharField(allow_null=True)
    key = serializers.CharField(allow_null=True)
    key_revoked_at = serializers.DateTimeField(
        allow_null=True, help_text="When the key was retired (opinions signed from then on are not valid)."
    )
    signer = SignerSerializer()
    signed_at = serializers.DateTimeField()
    signature = serializers.CharField(help_text="Base64 of the signature over the canonical payload.")
    payload = serializers.JSONField(
        allow_null=True, help_text="The canonical opinion as the hub holds it (signed as sorted, compact UTF-8 JSON)."
    )
    payload_sha256 = serializers.CharField(allow_null=True)


class KeyFilterSerializer(serializers.Serializer):
    practitioner = serializers.CharField(required=False, max_length=150, help_text="A clinician's username.")


class SigningKeyListApi(APIView):
    """Every clinician's signing keys (public halves), oldest first; retired keys stay listed with their
    ``revoked_at`` (what they signed before it stays valid)."""

    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        operation_id="signing_keys",
        parameters=[KeyFilterSerializer],
        responses={200: KeySerializer(many=True), **errors(400)},
    )
    def get(self, request):
        filters = KeyFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        keys = signing_keys_published(user=filters.validated_data.get("practitioner", ""))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(keys, request, view=self)
        return paginator.get_paginated_response(KeySerializer(page, many=True).data)


class SigningKeyApi(APIView):
    """One signing key (public half)."""

    @extend_schema(operation_id="signing_key", responses={200: KeySerializer, **errors(404)})
    def get(self, request, key_id: str):
        return Response(KeySerializer(signing_key_get(key_id=key_id)).data)


class OpinionVerificationApi(APIView):
    """Whether a signed opinion is authentic and unaltered: its signature checked against its author's public key
    over the opinion as the hub holds it. A receiving site compares ``payload`` with its copy (or checks the
    signature itself with the published key). Answered for those who may see the request (else 404)."""

    @extend_schema(operation_id="opinion_verify", responses={200: VerificationSerializer, **errors(404)})
    def get(self, request, uid):
        opinion = opinion_for_verification(user=request.user, uid=uid)
        result = opinion_signature_check(opinion=opinion)
        body = {
            "opinion": opinion.uid,
            "valid": result.valid,
            "reason": result.reason,
            "reason_text": str(REASONS[result.reason]),
            "algorithm": result.key.algorithm if result.key else None,
            "key": result.key.key_id if result.key else None,
            "key_revoked_at": result.key.revoked_at if result.key else None,
            "signer": _signer(opinion.author),
            "signed_at": opinion.signed_at,
            "signature": result.signature,
            "payload": result.payload,
            "payload_sha256": result.digest,
        }
        return Response(VerificationSerializer(body).data)
