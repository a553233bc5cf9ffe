"""``Patient/$match``: candidates for a described person, with scores and match grades.

http://hl7.org/fhir/R4/patient-operation-match.html. The entries are golden Patients (one per person
known to the alliance), each with ``search.score`` in 0..1 and the ``match-grade`` extension.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext as _

from federation.auth.scopes import scopes_allow
from federation.identity.features import patient_features
from federation.identity.matching import candidates_find
from federation.identity.models import GoldenRecord
from federation.identity.scoring import MatchConfig
from federation.identity.services import golden_resource
from fhir_gateway.context import SYSTEM, Actor
from fhir_gateway.errors import FhirError, Forbidden

MATCH_GRADE_URL = "http://hl7.org/fhir/StructureDefinition/match-grade"


def _parameters(parameters: dict) -> tuple[dict, bool, int]:
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
    if actor.kind == SYSTEM and not scopes_allow(actor.scopes, "Patient", "search"):
        raise Forbidden(_("$match needs a scope that allows reading Patients."))
    patient, only_certain, count = _parameters(parameters)
    config = MatchConfig.from_settings()
    candidates = candidates_find(features=patient_features(patient), config=config, limit=count)
    goldens = GoldenRecord.objects.in_bulk([c.golden_id for c in candidates])
    entries = []
    for candidate in candidates:
        grade = config.grade(candidate.score)
        if grade == "certainly-not" or (only_certain and grade != "certain"):
            continue
        golden = goldens.get(candidate.golden_id)
        if golden is None or not golden.active:
            continue
        entries.append(
            {
                "fullUrl": f"{base_url}/Patient/{golden.fhir_id}",
                "resource": golden_resource(golden),
                "search": {
                    "mode": "match",
                    "score": _probability(candidate.score, config),
                    "extension": [{"url": MATCH_GRADE_URL, "valueCode": grade}],
                },
            }
        )
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
