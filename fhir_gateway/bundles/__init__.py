"""Batch and transaction Bundles posted to the base URL (http://hl7.org/fhir/R4/http.html#transaction)."""

from fhir_gateway.bundles.run import bundle_run

__all__ = ["bundle_run"]
