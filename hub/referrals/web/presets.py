"""One-tap emergency presets for a new request, and opinion templates per specialty."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from federation.sites.constants import Specialty
from hub.referrals.constants import Pathway, ReferralKind, TreatmentDecision, Urgency

# Each preset sets the request's kind, urgency, pathway and the department (by specialty) it goes to.
EMERGENCY_PRESETS = {
    Pathway.CHEST_PAIN: {
        "kind": ReferralKind.CONSULTATION,
        "urgency": Urgency.EMERGENCY,
        "pathway": Pathway.CHEST_PAIN,
        "target_specialty": Specialty.CARDIOLOGY,
    },
    Pathway.STROKE: {
        "kind": ReferralKind.CONSULTATION,
        "urgency": Urgency.EMERGENCY,
        "pathway": Pathway.STROKE,
        "target_specialty": Specialty.NEUROLOGY,
    },
    Pathway.TRAUMA: {
        "kind": ReferralKind.UP,
        "urgency": Urgency.EMERGENCY,
        "pathway": Pathway.TRAUMA,
        "target_specialty": Specialty.TRAUMA,
    },
    Pathway.POISONING: {
        "kind": ReferralKind.CONSULTATION,
        "urgency": Urgency.EMERGENCY,
        "pathway": Pathway.POISONING,
        "target_specialty": Specialty.TOXICOLOGY,
    },
}


def presets() -> list[tuple[str, str, dict]]:
    """(pathway, label, field values) of each emergency preset, in the pathways' order."""
    return [
        (str(pathway), str(Pathway(pathway).label), {key: str(value) for key, value in values.items()})
        for pathway, values in EMERGENCY_PRESETS.items()
    ]


# Opinion templates: (title, conclusion, recommendations, decision), per specialty of the signer's department.
OPINION_TEMPLATES = {
    Specialty.CARDIOLOGY: [
        (
            _("STEMI: primary PCI"),
            _("Acute ST-elevation myocardial infarction (leads: ...). Onset ... hours ago."),
            _("Aspirin 300 mg and ticagrelor 180 mg now; heparin; transfer at once for primary PCI; cath lab called."),
            TreatmentDecision.PCI,
        ),
        (
            _("STEMI: thrombolysis first"),
            _("Acute ST-elevation myocardial infarction; PCI not reachable within 120 minutes."),
            _("Thrombolysis now if no contraindication; then transfer for angiography within 2-24 hours."),
            TreatmentDecision.THROMBOLYSIS,
        ),
        (
            _("NSTE-ACS: transfer"),
            _("Non-ST-elevation acute coronary syndrome, high risk."),
            _("Dual antiplatelet therapy and anticoagulation; transfer to the general hospital's CCU."),
            TreatmentDecision.TRANSFER,
        ),
        (
            _("Non-cardiac chest pain"),
            _("No sign of acute coronary syndrome on ECG and troponin."),
            _("Repeat troponin in 3 hours; treat conservatively; follow up in the clinic."),
            TreatmentDecision.CONSERVATIVE,
        ),
    ],
    Specialty.NEUROLOGY: [
        (
            _("Acute ischaemic stroke: thrombolysis"),
            _("Acute ischaemic stroke within the thrombolysis window; CT shows no haemorrhage. NIHSS ..."),
            _("Alteplase 0.9 mg/kg now (10% as a bolus); blood pressure below 180/105; neuro checks every 15 min."),
            TreatmentDecision.THROMBOLYSIS,
        ),
        (
            _("Large-vessel occlusion: transfer"),
            _("Suspected large-vessel occlusion."),
            _("Transfer at once for thrombectomy; start thrombolysis before transfer if eligible."),
            TreatmentDecision.TRANSFER,
        ),
    ],
    Specialty.TRAUMA: [
        (
            _("Major trauma: transfer"),
            _("Major trauma; haemodynamically ..."),
            _("Secure airway, stop bleeding, two large IV lines; transfer to the trauma centre."),
            TreatmentDecision.TRANSFER,
        ),
    ],
    Specialty.TOXICOLOGY: [
        (
            _("Poisoning: decontamination and antidote"),
            _("Acute poisoning with ... (time of ingestion ...)."),
            _("Gastric lavage if within the window; give the antidote ...; monitor and repeat the levels."),
            TreatmentDecision.CONSERVATIVE,
        ),
    ],
}
GENERAL_TEMPLATES = [
    (
        _("Consultation opinion"),
        _("Assessment: ..."),
        _("Recommendations: ..."),
        "",
    )
]


def opinion_templates(specialty: str) -> list[dict]:
    chosen = OPINION_TEMPLATES.get(specialty, []) + GENERAL_TEMPLATES
    return [
        {"title": str(t), "conclusion": str(c), "recommendations": str(r), "decision": str(d)} for t, c, r, d in chosen
    ]
