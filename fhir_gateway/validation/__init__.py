"""Content validation with ``fhir.resources``' R4B models: the only package that imports ``fhir.resources``.

The R4B models accept real R4 (4.0.1) data, while the package's default R5 models reject most of it.
"""

from fhir_gateway.validation.models import is_resource_type, required_elements, resource_check, resource_types

__all__ = ["is_resource_type", "required_elements", "resource_check", "resource_types"]
