"""Reads of a patient's record as one user may see it, gathered across the alliance's sites.

Who may see it is hub.access's answer (``patient_visible``: the gateway's own rules); every read goes through the
gateway as the user, so it is checked and audited: the patient's record through the federation's record view
(调阅: live from the site when it answers, else the hub's synced copy; audited as ``$record-view``), each of the
same person's Patients at other sites that the user may see likewise, one record or its file as a FHIR read.
A user who may not see the patient gets None: the same answer as for a patient who does not exist.
"""

from __future__ import annotations

from django.utils.translation import get_language

from federation.sites.models import Site
from federation.sync.record_view import patient_record_view
from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from fhir_gateway.errors import FhirError
from fhir_gateway.public import owner_of
from hub.access.patients import patient_visible
from hub.access.referrals import same_people
from hub.accounts.fhir import actor_of
from hub.records import record as presenter
from hub.records.record import PatientRecord

# Records a page may show as one item, and those whose files (attachments) it may serve.
ITEM_TYPES = frozenset(
    {"Observation", "DocumentReference", "DiagnosticReport", "Media", "ImagingStudy", "Condition", "AllergyIntolerance",
     "MedicationRequest", "MedicationStatement", "Encounter", "Procedure", "Immunization", "Composition"}
)  # fmt: skip
CONTENT_TYPES = frozenset({"DocumentReference", "DiagnosticReport", "Media"})


def _site_names() -> dict[str, str]:
    english = not (get_language() or "").lower().startswith("zh")
    return {
        code: (en or name) if english else name
        for code, name, en in Site.objects.values_list("code", "name", "name_en")
    }


def _subject(resource: dict) -> str:
    for key in ("subject", "patient"):
        reference = (resource.get(key) or {}).get("reference") if isinstance(resource.get(key), dict) else None
        if reference:
            return str(reference)
    return f"Patient/{resource.get('id')}" if resource.get("resourceType") == "Patient" else ""


def binary_bytes(reference: str, *, owners: set[str]) -> bytes | None:
    """The content of a Binary that a record the user has read points to (that read was the access check), when
    the Binary belongs to the same site as the record: a record cannot lend another site's file."""
    import base64

    resource_type, _sep, fhir_id = reference.partition("/")
    if resource_type != "Binary" or not fhir_id or owner_of(resource_type="Binary", fhir_id=fhir_id) not in owners:
        return None
    try:
        binary = fhir.resource_read(resource_type="Binary", fhir_id=fhir_id, actor=INTERNAL_ACTOR)
    except FhirError:
        return None
    data = binary.get("data")
    return base64.b64decode(data) if isinstance(data, str) else None


def patient_record_or_none(*, user, patient_ref: str) -> PatientRecord | None:
    """The patient's record across sites as ``user`` may read it, or None (not theirs, or no such patient)."""
    if not patient_visible(user, patient_ref):
        return None
    actor = actor_of(user)
    others = sorted({ref for _site, ref in same_people([patient_ref])} - {patient_ref})
    refs = [patient_ref] + [ref for ref in others if patient_visible(user, ref)]
    names = _site_names()
    owners: dict[str, str] = {}
    codes: set[str] = set()
    resources: dict[str, dict] = {}
    sources = []
    for ref in refs:
        fhir_id = ref.split("/", 1)[1]
        try:
            view = patient_record_view(patient_id=fhir_id, actor=actor)
        except FhirError:
            continue
        owner = owner_of(resource_type="Patient", fhir_id=fhir_id) or ""
        codes.add(owner)
        owners[ref] = names.get(owner, owner)
        sources.append({"site": owners[ref], "source": view.source, "as_of": view.as_of, "ref": ref})
        for resource in view.resources:
            resources.setdefault(f"{resource.get('resourceType')}/{resource.get('id')}", resource)
    if not sources:
        return None

    def site_of(resource: dict) -> str:
        return owners.get(_subject(resource), "")

    return presenter.build(
        patient_ref=patient_ref,
        resources=list(resources.values()),
        sources=sources,
        site_of=site_of,
        binary_text=lambda reference: binary_bytes(reference, owners=codes),
    )


def record_read_or_none(*, user, reference: str) -> dict | None:
    """One record of a patient ``user`` may see, read through the gateway as them (checked, audited)."""
    resource_type, _sep, fhir_id = reference.partition("/")
    if resource_type not in ITEM_TYPES or not fhir_id:
        return None
    try:
        resource = fhir.resource_read(resource_type=resource_type, fhir_id=fhir_id, actor=actor_of(user))
    except FhirError:
        return None
    subject = _subject(resource)
    if not subject or not patient_visible(user, subject):
        return None
    return resource


def record_item_or_none(*, user, reference: str) -> PatientRecord | None:
    """One record as the record shows it (for presenting it in a room), or None."""
    resource = record_read_or_none(user=user, reference=reference)
    if resource is None:
        return None
    parts = []
    if resource.get("resourceType") == "ImagingStudy":
        parts = _study_parts(user=user, study_ref=reference, patient_ref=_subject(resource))
    owner = owner_of(resource_type=resource["resourceType"], fhir_id=resource["id"]) or ""
    site = _site_names().get(owner, owner)
    return presenter.build(
        patient_ref="",
        resources=[resource, *parts],
        sources=[],
        site_of=lambda _r: site,
        binary_text=lambda ref: binary_bytes(ref, owners={owner}),
    )


def _study_parts(*, user, study_ref: str, patient_ref: str) -> list[dict]:
    """The Media (DICOM instances) of an imaging study, searched as the user (checked, audited)."""
    try:
        bundle = fhir.resource_search(
            resource_type="Media",
            params=[("subject", patient_ref), ("_count", "500")],
            actor=actor_of(user),
            base_url="",
        )
    except FhirError:
        return []
    found = [e.get("resource") for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]
    return [m for m in found if any((p or {}).get("reference") == study_ref for p in m.get("partOf") or [])]


def record_content_or_none(*, user, reference: str, index: int) -> tuple[bytes, str, str] | None:
    """(bytes, content type, title) of attachment ``index`` of a record ``user`` may see, or None."""
    if reference.partition("/")[0] not in CONTENT_TYPES:
        return None
    resource = record_read_or_none(user=user, reference=reference)
    if resource is None:
        return None
    if resource["resourceType"] == "Media":
        attachments = [resource.get("content")]
    elif resource["resourceType"] == "DiagnosticReport":
        attachments = resource.get("presentedForm") or []
    else:
        attachments = [(c or {}).get("attachment") for c in resource.get("content") or []]
    if not 0 <= index < len(attachments) or not isinstance(attachments[index], dict):
        return None
    attachment = attachments[index]
    raw = presenter._decoded(attachment)
    if raw is None and str(attachment.get("url", "")).startswith("Binary/"):
        owner = owner_of(resource_type=resource["resourceType"], fhir_id=resource["id"]) or ""
        raw = binary_bytes(str(attachment["url"]), owners={owner})
    if raw is None:
        return None
    return raw, str(attachment.get("contentType") or "application/octet-stream"), str(attachment.get("title") or "")


def study_instance_or_none(*, user, study_ref: str, index: int) -> bytes | None:
    """Instance ``index`` (in series and instance order) of a study ``user`` may see, from the site's DICOMweb."""
    from hub.records import dicomweb

    study = record_read_or_none(user=user, reference=study_ref)
    if study is None:
        return None
    address = dicomweb.endpoint_address(study)
    study_uid = next(
        (
            str(i.get("value", "")).removeprefix("urn:oid:")
            for i in study.get("identifier") or []
            if i.get("system") == "urn:dicom:uid"
        ),
        "",
    )
    series = [s for s in study.get("series") or [] if isinstance(s, dict)]
    instances = [(s, i) for s in series for i in sorted(s.get("instance") or [], key=lambda i: i.get("number") or 0)]
    if address is None or not study_uid or not 0 <= index < len(instances):
        return None
    series_row, instance = instances[index]
    return dicomweb.instance_fetch(
        address=address,
        study_uid=study_uid,
        series_uid=str(series_row.get("uid")),
        instance_uid=str(instance.get("uid")),
    )
