"""A study's images from the site's own DICOMweb server (WADO-RS, PS3.18 §10.4), when the hub holds no copy.

The site names its server as the ImagingStudy's ``endpoint``: an FHIR ``Endpoint`` of ``connectionType``
``dicom-wado-rs`` owned by the same site (a record cannot send the hub to another site's server, nor anywhere
but http(s)). An instance is asked for uncompressed (explicit VR little endian), the form the viewer reads, and
taken out of the multipart answer.
"""

from __future__ import annotations

import re

import httpx

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from fhir_gateway.errors import FhirError
from fhir_gateway.public import owner_of

WADO_RS = "dicom-wado-rs"
TIMEOUT = 10.0
MAX_BYTES = 64 * 1024 * 1024
ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1'


def endpoint_address(study: dict) -> str | None:
    """The WADO-RS base URL the study names, if it is its own site's."""
    owner = owner_of(resource_type="ImagingStudy", fhir_id=str(study.get("id")))
    for reference in study.get("endpoint") or []:
        resource_type, _sep, fhir_id = str((reference or {}).get("reference", "")).partition("/")
        if resource_type != "Endpoint" or not fhir_id or owner_of(resource_type="Endpoint", fhir_id=fhir_id) != owner:
            continue
        try:
            endpoint = fhir.resource_read(resource_type="Endpoint", fhir_id=fhir_id, actor=INTERNAL_ACTOR)
        except FhirError:
            continue
        kind = (endpoint.get("connectionType") or {}).get("code")
        address = str(endpoint.get("address") or "")
        if kind == WADO_RS and endpoint.get("status") == "active" and address.startswith(("http://", "https://")):
            return address.rstrip("/")
    return None


def _dicom_part(body: bytes, content_type: str) -> bytes | None:
    if not content_type.startswith("multipart/"):
        return body if content_type.startswith("application/dicom") else None
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return None
    for part in body.split(b"--" + match.group(1).encode()):
        head, sep, payload = part.partition(b"\r\n\r\n")
        if sep and b"application/dicom" in head.lower():
            return payload[:-2] if payload.endswith(b"\r\n") else payload
    return None


def instance_fetch(*, address: str, study_uid: str, series_uid: str, instance_uid: str) -> bytes | None:
    url = f"{address}/studies/{study_uid}/series/{series_uid}/instances/{instance_uid}"
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            answer = client.get(url, headers={"Accept": ACCEPT})
    except httpx.HTTPError:
        return None
    if answer.status_code != 200 or len(answer.content) > MAX_BYTES:
        return None
    return _dicom_part(answer.content, answer.headers.get("content-type", ""))
