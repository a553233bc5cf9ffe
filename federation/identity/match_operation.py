"""``Patient/$match``: candidates for a described person, with scores and match grades.

http://hl7.org/fhir/R4/patient-operation-match.html. The entries are golden Patients (one per person
known to the alliance), each with ``search.score`` in 0..1 and the ``match-grade`` extension, as far as the
caller may see them (``patient_match``).
"""

from __future__ import annotations

import math

from django.utils.translation import gettext as _

from federation.identity.features import patient_features
from federation.identity.matching import candidates_find
from federation.identity.models import GoldenRecord, MpiRecord
from federation.identity.scoring import MatchConfig
from fhir_gateway import services
from fhir_gateway.context import REQUEST, Actor, Interaction
from fhir_gateway.errors import FhirError
from fhir_gateway.interactions import interaction_scope
from fhir_gateway.public import resource_check

MATCH_GRADE_URL = "http://hl7.org/fhir/StructureDefinition/match-grade"


def _parameters(parameters: dict) -> tuple[dict, bool, int]:
    if not isinstance(parameters, dict) or parameters.get("resourceType") not in ("Patient", "Parameters"):
        raise FhirError(400, _("$match takes a Parameters resource (or a Patient)."), expression=["Parameters"])
    resource_check(parameters)  # a malformed Patient is a 400, never a failure further on
    if parameters.get("resourceType") == "Patient":
        return parameters, False, 10
    if parameters.get("resourceType") != "Parameters":
        raise FhirError(400, _("$match takes a Parameters resource (or a Patient)."), expression=["Parameters"])
    patient, only_certain, count = None, False, 10
    for parameter in parameters.get("parameter") or []:
        name = parameter.get("name")
        if name == "resource":
            patient = parameter.get("resource")
        elif name == "onlyCertainMatches":
            only_certain = bool(parameter.get("valueBoolean"))
        elif name == "count":
            count = parameter.get("valueInteger")
            if not isinstance(count, int) or not 1 <= count <= 100:
                raise FhirError(400, _("count must be an integer from 1 to 100."), expression=["Parameters.parameter"])
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise FhirError(400, _("The resource parameter must hold a Patient."), expression=["Parameters.parameter"])
    return patient, only_certain, count


def _probability(score: float, config: MatchConfig) -> float:
    """Points mapped into 0..1: 0.5 at the review threshold, above 0.9 from the auto-link threshold."""
    spread = max((config.auto_link - config.review) / 2.3, 0.1)
    return round(1 / (1 + math.exp(-(score - config.review) / spread)), 3)


def patient_match(*, parameters: dict, actor: Actor, base_url: str) -> dict:
    """The candidates ``actor`` may see, best first: for each matching person, their golden Patient when the
    actor may read it (the platform operator), else the person's site Patients it may read (its own site's, a
    patient shared with it). What it may not see is left out without a trace; health officials are refused.
    Audited as a ``$match`` of Patient, with the search that read the answers."""
    interaction = Interaction(actor=actor, action="operation", resource_type="Patient", operation="$match")
    with interaction_scope(interaction) as scope:
        scope.authorize(None, REQUEST)
        bundle = _match(parameters=parameters, actor=actor, base_url=base_url)
        interaction.detail["patients"] = " ".join(f"Patient/{e['resource']['id']}" for e in bundle["entry"])[:2000]
        scope.done(200)
        return bundle


def _match(*, parameters: dict, actor: Actor, base_url: str) -> dict:
    patient, only_certain, count = _parameters(parameters)
    config = MatchConfig.from_settings()
    candidates = candidates_find(features=patient_features(patient), config=config, limit=count)
    graded = []
    for candidate in candidates:
        grade = config.grade(candidate.score)
        if grade == "certainly-not" or (only_certain and grade != "certain"):
            continue
        graded.append((candidate, grade))
    goldens = GoldenRecord.objects.in_bulk([c.golden_id for c, _grade in graded])
    site_patients: dict[int, list[str]] = {}
    for golden_id, patient_id in (
        MpiRecord.objects.filter(golden_id__in=list(goldens))
        .order_by("site_code", "patient_id")
        .values_list("golden_id", "patient_id")
    ):
        site_patients.setdefault(golden_id, []).append(patient_id)
    wanted = [g.fhir_id for g in goldens.values()] + [p for ids in site_patients.values() for p in ids]
    visible = _readable(wanted, actor=actor, base_url=base_url)
    entries = []
    for candidate, grade in graded:
        golden = goldens.get(candidate.golden_id)
        if golden is None or not golden.active:
            continue
        shown = (
            [visible[golden.fhir_id]]
            if golden.fhir_id in visible
            else [visible[p] for p in site_patients.get(golden.pk, []) if p in visible]
        )
        for resource in shown:
            entries.append(
                {
                    "fullUrl": f"{base_url}/Patient/{resource['id']}",
                    "resource": resource,
                    "search": {
                        "mode": "match",
                        "score": _probability(candidate.score, config),
                        "extension": [{"url": MATCH_GRADE_URL, "valueCode": grade}],
                    },
                }
            )
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def _readable(ids: list[str], *, actor: Actor, base_url: str) -> dict[str, dict]:
    """The Patients among ``ids`` that ``actor`` may read, read as ``actor`` (an audited search)."""
    found: dict[str, dict] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        bundle = services.resource_search(
            resource_type="Patient",
            params=[("_id", ",".join(chunk)), ("_count", str(len(chunk)))],
            actor=actor,
            base_url=base_url,
        )
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource")
            if isinstance(resource, dict):
                found[resource["id"]] = resource
    return found
