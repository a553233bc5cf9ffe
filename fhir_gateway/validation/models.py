"""Kept for imports of ``ID_PATTERN`` from here; the validator lives in ``resources`` and ``checker``."""

from fhir_gateway.validation.resources import ID_PATTERN

__all__ = ["ID_PATTERN"]
