"""The signer's PIN as the API takes it: six digits, write-only (never in an answer), checked by the service."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

PIN_HELP = (
    "The signer's signing PIN (six digits, set on the profile page): every signature needs it, a bearer token or a "
    "session alone signs nothing. A wrong PIN answers 400 `invalid_pin` and counts toward the lock (five wrong "
    "tries lock signing for 15 minutes); no PIN set yet answers 400 `signing_pin_not_set`."
)


PIN_PATTERN = r"^\d{6}$"


@extend_schema_field({"type": "string", "pattern": PIN_PATTERN, "minLength": 6, "maxLength": 6, "format": "password"})
class SigningPinField(serializers.RegexField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", PIN_HELP)
        kwargs.setdefault("error_messages", {"invalid": _("A signing PIN is six digits.")})
        super().__init__(PIN_PATTERN, min_length=6, max_length=6, write_only=True, trim_whitespace=False, **kwargs)
