"""The demo's patient records with content (hub.records shows them): every chest-pain request's patient gets an
inferior STEMI (ECG, serial troponin, ...), the stroke request's patient a head CT series, and both an age that
fits the pathway (45-75; the generated residents are of any age). See ``record_content``.

Idempotent: a patient whose ECG or CT is stored already is left as it is.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

from django.utils import timezone

from federation.identity.resident_id import RESIDENT_ID_SYSTEM, make
from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL, Actor
from fhir_gateway.errors import FhirError
from fhir_gateway.public import owner_of
from hub.demo.record_content import DEMO_ID_SYSTEM, chest_pain_records, stroke_records
from hub.demo.record_imaging import head_ct

PLACEHOLDER = re.compile(r"^(Binary|ImagingStudy)/(\d+)$")
BASE_URL = "http://demo.invalid/fhir"


def _actor(site: str) -> Actor:
    return Actor(kind=INTERNAL, id="demo", display="Demo loader", site=site)


def _has(patient_ref: str, marker: str, site: str) -> bool:
    bundle = fhir.resource_search(
        resource_type=None,
        params=[("_type", "Observation,ImagingStudy"), ("subject", patient_ref), ("_count", "200")],
        actor=_actor(site),
        base_url=BASE_URL,
    )
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "ImagingStudy" and marker == "ct":
            return True
        if any(
            i.get("system") == DEMO_ID_SYSTEM and str(i.get("value", "")).endswith(marker)
            for i in resource.get("identifier") or []
        ):
            return True
    return False


def _resolve(value, stored: list[str]):
    """Replace the placeholders ``Binary/<n>`` / ``ImagingStudy/<n>`` with the stored records' ids."""
    if isinstance(value, dict):
        return {k: _resolve(v, stored) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, stored) for v in value]
    if isinstance(value, str):
        match = PLACEHOLDER.match(value)
        if match:
            return f"{match.group(1)}/{stored[int(match.group(2))]}"
    return value


def records_store(resources: list[dict], *, site: str) -> int:
    stored: list[str] = []
    for resource in resources:
        result = fhir.resource_create(resource=_resolve(resource, stored), actor=_actor(site), owner=site)
        stored.append(result.resource["id"])
    return len(stored)


def _age_for(patient_ref: str) -> int:
    return 45 + int(hashlib.sha256(patient_ref.encode()).hexdigest(), 16) % 31  # 45-75


def patient_age_set(patient_ref: str, *, age: int, today: date | None = None) -> None:
    """Make the patient ``age`` years old (birth date, and the resident ID that encodes it), at every site that
    registered the same resident ID."""
    today = today or timezone.localdate()
    fhir_id = patient_ref.split("/", 1)[1]
    site = owner_of(resource_type="Patient", fhir_id=fhir_id)
    patient = fhir.resource_read(resource_type="Patient", fhir_id=fhir_id, actor=_actor(site or ""))
    old_born = date.fromisoformat(patient["birthDate"])
    if today.year - old_born.year - ((today.month, today.day) < (old_born.month, old_born.day)) == age:
        return
    born = (
        old_born.replace(year=today.year - age)
        if not (old_born.month == 2 and old_born.day == 29)
        else date(today.year - age, 2, 28)
    )
    old_id = next((i["value"] for i in patient.get("identifier") or [] if i.get("system") == RESIDENT_ID_SYSTEM), "")
    new_id = make(old_id[:6], born, int(old_id[14:17])) if len(old_id) == 18 else ""
    query = [("identifier", f"{RESIDENT_ID_SYSTEM}|{old_id}")] if old_id else [("_id", fhir_id)]
    bundle = fhir.resource_search(resource_type="Patient", params=query, actor=_actor(""), base_url=BASE_URL)
    for entry in bundle.get("entry") or []:
        same = entry["resource"]
        same["birthDate"] = born.isoformat()
        for identifier in same.get("identifier") or []:
            if identifier.get("system") == RESIDENT_ID_SYSTEM and new_id:
                identifier["value"] = new_id
        owner = owner_of(resource_type="Patient", fhir_id=same["id"]) or ""
        fhir.resource_update(resource_type="Patient", fhir_id=same["id"], resource=same, actor=_actor(owner))


def demo_records_load(now=None) -> int:
    """Content for the chest-pain and stroke requests' patients; returns how many records were stored."""
    from hub.referrals.models import Referral

    now = timezone.localtime(now or timezone.now())
    total = 0
    rows = (
        Referral.objects.filter(pathway__in=("chest_pain", "stroke"))
        .order_by("pk")
        .values_list("patient_ref", "pathway")
    )
    done = set()
    for seed, (patient_ref, pathway) in enumerate(rows, 1):
        if (patient_ref, pathway) in done or not patient_ref.startswith("Patient/"):
            continue
        done.add((patient_ref, pathway))
        site = owner_of(resource_type="Patient", fhir_id=patient_ref.split("/", 1)[1])
        if not site:
            continue
        try:
            patient_age_set(patient_ref, age=_age_for(patient_ref))
        except (FhirError, ValueError, KeyError):
            pass  # a patient without a usable birth date keeps it
        if pathway == "chest_pain" and not _has(patient_ref, "-ecg", site):
            total += records_store(chest_pain_records(patient_ref, now, seed=seed), site=site)
        elif pathway == "stroke" and not _has(patient_ref, "ct", site):
            scan = now
            files, study_uid, series_uid, uids = head_ct(
                patient_name="DEMO^STROKE", patient_id=patient_ref.split("/", 1)[1], seed=patient_ref, when=scan
            )
            resources = stroke_records(
                patient_ref, now, slices=files, study_uid=study_uid, series_uid=series_uid, instance_uids=uids
            )
            total += records_store(resources, site=site)
    return total
