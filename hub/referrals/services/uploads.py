"""Photos and files a requester attaches (an ECG photographed on the ward, a scanned letter).

Each file becomes a FHIR ``Binary`` (its bytes) and a ``Media`` (images) or ``DocumentReference`` (PDF) about
the patient, pointing at the Binary, owned by the requester's site and written through the gateway's public
services. The type is judged by the file's first bytes, never by its name or the browser's claim; files that are
too large, of another type or empty are refused before anything is stored.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.api_errors import DomainError
from hub.referrals.fhir.store import fhir_create

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_UPLOADS = 6
# (first bytes, offset, MIME type): what a file is, by its signature.
_SIGNATURES = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
    (b"%PDF-", 0, "application/pdf"),
)
_MEDIA_TYPE = "http://terminology.hl7.org/CodeSystem/media-type"


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    content_type: str  # as judged from the bytes


def max_upload_bytes() -> int:
    return int(getattr(settings, "REFERRAL_UPLOAD_MAX_BYTES", MAX_UPLOAD_BYTES))


def sniff(data: bytes) -> str:
    """The MIME type a file's first bytes show, or "" when it is none of the accepted kinds."""
    for signature, offset, mime in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature and (mime != "image/webp" or data[:4] == b"RIFF"):
            return mime
    return ""


def upload_check(*, name: str, data: bytes) -> Upload:
    """An accepted file, or ``DomainError`` (``invalid_upload``) saying why not."""
    name = (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:120] or "file"
    if not data:
        raise DomainError(_("%(name)s is empty.") % {"name": name}, code="invalid_upload")
    limit = max_upload_bytes()
    if len(data) > limit:
        raise DomainError(
            _("%(name)s is larger than %(mb)d MB.") % {"name": name, "mb": limit // (1024 * 1024)},
            code="invalid_upload",
        )
    content_type = sniff(data)
    if not content_type:
        raise DomainError(
            _("%(name)s is not a photo (JPEG, PNG, WebP) or a PDF.") % {"name": name}, code="invalid_upload"
        )
    return Upload(name=name, data=data, content_type=content_type)


def _described(upload: Upload, *, patient_ref: str, binary_ref: str, now: datetime) -> dict:
    attachment = {
        "contentType": upload.content_type,
        "url": binary_ref,
        "size": len(upload.data),
        "title": upload.name,
        "creation": now.isoformat(),
    }
    if upload.content_type.startswith("image/"):
        return {
            "resourceType": "Media",
            "status": "completed",
            "type": {"coding": [{"system": _MEDIA_TYPE, "code": "image", "display": "Image"}]},
            "subject": {"reference": patient_ref},
            "createdDateTime": now.isoformat(),
            "content": attachment,
        }
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": patient_ref},
        "date": now.isoformat(),
        "description": upload.name,
        "content": [{"attachment": attachment}],
    }


@transaction.atomic
def uploads_store(*, actor, patient_ref: str, uploads: list[Upload], now: datetime | None = None) -> list[str]:
    """Store checked files as Binary + Media/DocumentReference of the patient; the Media/DocumentReference refs."""
    if len(uploads) > MAX_UPLOADS:
        raise DomainError(_("Attach at most %(n)d files.") % {"n": MAX_UPLOADS}, code="invalid_upload")
    now = now or timezone.now()
    owner = actor.site.code
    refs = []
    for upload in uploads:
        binary = fhir_create(
            resource={
                "resourceType": "Binary",
                "contentType": upload.content_type,
                "securityContext": {"reference": patient_ref},
                "data": base64.b64encode(upload.data).decode("ascii"),
            },
            owner=owner,
        )
        described = fhir_create(
            resource=_described(upload, patient_ref=patient_ref, binary_ref=f"Binary/{binary['id']}", now=now),
            owner=owner,
        )
        refs.append(f"{described['resourceType']}/{described['id']}")
    return refs


def attachment_file(*, reference: str) -> tuple[bytes, str, str] | None:
    """(bytes, MIME type, title) of an attached Media/DocumentReference's Binary; None when there is none."""
    from hub.referrals.fhir.store import fhir_read

    stored = fhir_read(reference=reference)
    if stored is None:
        return None
    resource = stored.resource
    content = resource.get("content")
    attachment = (content[0].get("attachment") if isinstance(content, list) and content else content) or {}
    url = attachment.get("url") or ""
    if attachment.get("data"):
        data = base64.b64decode(attachment["data"])
    elif url.startswith("Binary/"):
        binary = fhir_read(reference=url)
        if binary is None or binary.owner != stored.owner or not binary.resource.get("data"):
            return None
        data = base64.b64decode(binary.resource["data"])
    else:
        return None
    mime = sniff(data)  # served as what the bytes are, never as what the record claims
    if not mime:
        return None
    return data, mime, attachment.get("title") or reference
