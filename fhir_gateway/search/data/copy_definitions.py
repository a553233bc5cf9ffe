"""Copy the SearchParameter definitions the hub needs from the R4 specification (run by hand).

python fhir_gateway/search/data/copy_definitions.py ../shared/data/fhir-r4/search-parameters.json
"""

import json
import sys
from pathlib import Path

TYPES = """Resource DomainResource Patient Practitioner PractitionerRole Organization Location Endpoint
HealthcareService Encounter EpisodeOfCare Observation Condition Procedure MedicationRequest MedicationStatement
AllergyIntolerance Immunization DiagnosticReport DocumentReference ImagingStudy Media ServiceRequest Task
Communication CommunicationRequest Appointment Consent Composition Device Provenance AuditEvent Subscription
CarePlan Binary RiskAssessment""".split()
KEEP = ("url", "code", "base", "type", "expression", "target", "modifier", "comparator", "component", "description")


def main(source: str) -> None:
    bundle = json.loads(Path(source).read_text())
    out = []
    for entry in bundle["entry"]:
        definition = entry["resource"]
        if not set(definition["base"]) & set(TYPES):
            continue
        out.append({key: definition[key] for key in KEEP if key in definition})
    target = Path(__file__).with_name("search-parameters.json")
    target.write_text(json.dumps(out, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    print(f"{len(out)} definitions written to {target}")


if __name__ == "__main__":
    main(sys.argv[1])
