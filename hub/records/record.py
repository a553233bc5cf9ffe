"""A patient's FHIR records turned into what a clinician reads: a summary, lab tables with trends, vital-sign
charts, documents, ECG tracings and image series. Plain data for the templates; no FHIR JSON reaches a page."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from hub.records import dates, ecg
from hub.records.masking import patient_identifiers
from hub.records.terms import ENCOUNTER_CLASSES, clinical_word, concept_text, loinc_code, status_word

VITAL_CODES = {
    "8867-4",
    "9279-1",
    "8310-5",
    "85354-9",
    "8480-6",
    "8462-4",
    "59408-5",
    "2708-6",
    "29463-7",
    "8302-2",
    "39156-5",
    "9269-2",
    "72514-3",
}
BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"
INLINE_TEXT_MAX = 200_000  # bytes of a text document shown inline
FLAG_CODES = {"H": "H", "HH": "H", "HU": "H", ">": "H", "L": "L", "LL": "L", "LU": "L", "<": "L", "A": "A", "AA": "A"}
DICOM_TYPES = ("application/dicom",)
SUMMARY_ENCOUNTERS = 8


@dataclass
class Item:
    """One record as shown: its clinical word, title, when, and what to show of it."""

    ref: str
    kind: str
    title: str
    when: str = ""
    site: str = ""
    detail: str = ""
    status: str = ""


@dataclass
class LabRow:
    code: str
    name: str
    ref: str
    value: str
    unit: str
    range: str
    flag: str  # H, L, A or ""
    when: str
    site: str
    earlier: list[dict] = field(default_factory=list)  # [{value, flag, when}]
    series: list[list] = field(default_factory=list)  # [[epoch ms, number], ...] oldest first
    low: float | None = None
    high: float | None = None


@dataclass
class Document:
    ref: str
    title: str
    when: str
    author: str
    site: str
    text: str = ""
    links: list[dict] = field(default_factory=list)  # [{url, label, type}]
    images: list[str] = field(default_factory=list)


@dataclass
class Study:
    ref: str
    title: str
    when: str
    modality: str
    site: str
    series: int
    instances: int
    slices: list[str] = field(default_factory=list)  # content URLs of the DICOM instances, in order
    note: str = ""


@dataclass
class PatientRecord:
    patient_ref: str
    patient: dict
    name: str
    gender: str
    birth_date: str
    age: int | None
    identifiers: list[dict]
    sources: list[dict]
    problems: list[Item]
    allergies: list[Item]
    medications: list[Item]
    encounters: list[Item]
    labs: list[LabRow]
    vitals: list[LabRow]
    vital_chart: dict
    ecgs: list[dict]
    documents: list[Document]
    studies: list[Study]
    images: list[Item]
    others: list[Item]

    @property
    def presentable(self) -> list[dict]:
        """Every record a room can present, as ``{ref, title}`` (tracings and images first)."""
        rows = [{"ref": e["ref"], "title": f"{_('ECG')} · {e['when']}"} for e in self.ecgs]
        rows += [{"ref": s.ref, "title": f"{clinical_word('ImagingStudy')} · {s.title}"} for s in self.studies]
        rows += [{"ref": i.ref, "title": f"{i.kind} · {i.title}"} for i in self.images]
        rows += [{"ref": d.ref, "title": f"{clinical_word(d.ref.split('/')[0])} · {d.title}"} for d in self.documents]
        rows += [{"ref": r.ref, "title": f"{r.name} {r.value} {r.unit}".strip()} for r in self.labs]
        rows += [{"ref": i.ref, "title": f"{i.kind} · {i.title}"} for i in self.others]
        return rows

    @property
    def lab_trends(self) -> list[dict]:
        return [
            {
                "id": f"trend-{i}",
                "name": row.name,
                "unit": row.unit,
                "series": row.series,
                "low": row.low,
                "high": row.high,
            }
            for i, row in enumerate(self.labs)
            if len(row.series) >= 2
        ]


def content_url(ref: str, index: int = 0) -> str:
    resource_type, _sep, fhir_id = ref.partition("/")
    return reverse("records-web:content", kwargs={"resource_type": resource_type, "fhir_id": fhir_id, "index": index})


def name_of(patient: dict) -> str:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    if official.get("text"):
        return str(official["text"])
    return f"{official.get('family', '')}{''.join(official.get('given') or [])}"


def gender_word(code: str) -> str:
    return {"male": _("Male"), "female": _("Female"), "other": _("Other"), "unknown": _("Unknown")}.get(code, code)


def _quantity(value: dict | None) -> tuple[str, str, float | None]:
    if not isinstance(value, dict) or value.get("value") is None:
        return "", "", None
    number = value["value"]
    try:
        numeric = float(number)
    except (TypeError, ValueError):
        return str(number), str(value.get("unit") or value.get("code") or ""), None
    comparator = value.get("comparator") or ""
    text = f"{comparator}{number:g}" if isinstance(number, float) else f"{comparator}{number}"
    return text, str(value.get("unit") or value.get("code") or ""), numeric


def _value(observation: dict) -> tuple[str, str, float | None]:
    if "valueQuantity" in observation:
        return _quantity(observation["valueQuantity"])
    if observation.get("valueCodeableConcept"):
        return concept_text(observation["valueCodeableConcept"]), "", None
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in observation:
            value = observation[key]
            return str(value), "", float(value) if key == "valueInteger" else None
    return "", "", None


def _range(observation: dict) -> tuple[str, float | None, float | None]:
    ranges = [r for r in observation.get("referenceRange") or [] if isinstance(r, dict)]
    if not ranges:
        return "", None, None
    first = ranges[0]
    low = (first.get("low") or {}).get("value")
    high = (first.get("high") or {}).get("value")
    if first.get("text"):
        text = str(first["text"])
    elif low is not None and high is not None:
        text = f"{low:g}–{high:g}" if isinstance(low, float) or isinstance(high, float) else f"{low}–{high}"
    elif high is not None:
        text = f"≤{high}"
    elif low is not None:
        text = f"≥{low}"
    else:
        text = ""
    return text, float(low) if low is not None else None, float(high) if high is not None else None


def _flag(observation: dict, numeric: float | None, low: float | None, high: float | None) -> str:
    for concept in observation.get("interpretation") or []:
        for coding in (concept or {}).get("coding") or []:
            flag = FLAG_CODES.get(str((coding or {}).get("code", "")))
            if flag:
                return flag
    if numeric is not None:
        if high is not None and numeric > high:
            return "H"
        if low is not None and numeric < low:
            return "L"
    return ""


def _categories(resource: dict) -> set[str]:
    return {
        str(coding.get("code"))
        for concept in resource.get("category") or []
        for coding in (concept or {}).get("coding") or []
        if isinstance(coding, dict)
    }


def _rows(observations: list[dict], site_of) -> list[LabRow]:
    """One row per test (its latest result first), the earlier results and the numeric series behind it."""
    groups: dict[str, list[dict]] = {}
    for observation in observations:
        key = loinc_code(observation.get("code")) or concept_text(observation.get("code"))
        groups.setdefault(key, []).append(observation)
    rows = []
    for key, group in groups.items():
        group.sort(key=lambda o: dates.sort_key(dates.effective(o)), reverse=True)
        latest = group[0]
        value, unit, numeric = _value(latest)
        range_text, low, high = _range(latest)
        row = LabRow(
            code=key,
            name=concept_text(latest.get("code")),
            ref=f"Observation/{latest.get('id')}",
            value=value,
            unit=unit,
            range=range_text,
            flag=_flag(latest, numeric, low, high),
            when=dates.shown(dates.effective(latest)),
            site=site_of(latest),
            low=low,
            high=high,
        )
        for older in group[1:]:
            older_value, _u, older_numeric = _value(older)
            _t, older_low, older_high = _range(older)
            row.earlier.append(
                {
                    "value": older_value,
                    "flag": _flag(older, older_numeric, older_low, older_high),
                    "when": dates.shown(dates.effective(older)),
                }
            )
        for observation in reversed(group):
            _v, _u, number = _value(observation)
            at = dates.epoch_ms(dates.effective(observation))
            if number is not None and at is not None:
                row.series.append([at, number])
        rows.append(row)
    rows.sort(key=lambda r: (r.flag == "", r.name))
    return rows


def _bp_components(observation: dict) -> list[dict]:
    """A blood-pressure panel as two Observations (systolic, diastolic) so they chart and tabulate alike."""
    parts = []
    for component in observation.get("component") or []:
        code = loinc_code((component or {}).get("code"))
        if code in (SYSTOLIC, DIASTOLIC) and "valueQuantity" in component:
            parts.append({**observation, "code": component["code"], "valueQuantity": component["valueQuantity"],
                          "component": [], "referenceRange": component.get("referenceRange") or []})  # fmt: skip
    return parts


def _vital_chart(rows: list[LabRow]) -> dict:
    series = [
        {"name": f"{row.name} ({row.unit})" if row.unit else row.name, "data": row.series} for row in rows if row.series
    ]
    return {"series": series} if series else {}


def _item(resource: dict, site_of, *, title: str, detail: str = "", status: str = "") -> Item:
    ref = f"{resource.get('resourceType')}/{resource.get('id')}"
    return Item(
        ref=ref,
        kind=clinical_word(str(resource.get("resourceType"))),
        title=title or clinical_word(str(resource.get("resourceType"))),
        when=dates.shown(dates.effective(resource)),
        site=site_of(resource),
        detail=detail,
        status=status,
    )


def _status(resource: dict) -> str:
    clinical = resource.get("clinicalStatus")
    if isinstance(clinical, dict):
        codes = [c.get("code") for c in clinical.get("coding") or [] if isinstance(c, dict)]
        return status_word(codes[0] if codes else clinical.get("text"))
    return status_word(resource.get("status"))


def _medication(resource: dict) -> tuple[str, str]:
    name = concept_text(resource.get("medicationCodeableConcept")) or str(
        (resource.get("medicationReference") or {}).get("display") or ""
    )
    dosage = [
        d.get("text") for d in resource.get("dosageInstruction") or resource.get("dosage") or [] if isinstance(d, dict)
    ]
    return name or _("Medication"), "; ".join(d for d in dosage if d)


def _encounter(resource: dict, site_of) -> Item:
    klass = resource.get("class") or {}
    kind = str(ENCOUNTER_CLASSES.get(str(klass.get("code")), klass.get("display") or _("Visit")))
    types = ", ".join(concept_text(t) for t in resource.get("type") or [] if t)
    reasons = ", ".join(concept_text(r) for r in resource.get("reasonCode") or [] if r)
    period = resource.get("period") or {}
    when = dates.shown(period.get("start"))
    if period.get("end"):
        when = f"{when} – {dates.shown(period['end'])}"
    item = _item(resource, site_of, title=types or kind, detail=reasons, status=status_word(resource.get("status")))
    item.kind, item.when = kind, when or _("date not recorded")
    return item


def _allergy(resource: dict, site_of) -> Item:
    reactions = [
        concept_text(m)
        for reaction in resource.get("reaction") or []
        for m in (reaction or {}).get("manifestation") or []
    ]
    criticality = {"high": _("high risk"), "low": _("low risk")}.get(str(resource.get("criticality")), "")
    detail = ", ".join(x for x in [*reactions, criticality] if x)
    return _item(resource, site_of, title=concept_text(resource.get("code")), detail=detail, status=_status(resource))


def _decoded(attachment: dict) -> bytes | None:
    data = attachment.get("data")
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def _text_of(content_type: str, raw: bytes) -> str:
    text = raw[:INLINE_TEXT_MAX].decode("utf-8", errors="replace")
    if "html" in content_type or "xml" in content_type:
        text = strip_tags(re.sub(r"<(br|/p|/div|/li|/tr|/h\d)\s*/?>", "\n", text, flags=re.IGNORECASE))
    return text.strip()


def _document(resource: dict, site_of, binary_text) -> Document:
    ref = f"{resource.get('resourceType')}/{resource.get('id')}"
    if resource.get("resourceType") == "Composition":  # a signed opinion, a discharge summary: its sections
        document = Document(
            ref=ref,
            title=str(resource.get("title") or "")
            or concept_text(resource.get("type"))
            or clinical_word("Composition"),
            when=dates.shown(dates.effective(resource)),
            author=", ".join(str(a.get("display", "")) for a in resource.get("author") or [] if isinstance(a, dict)),
            site=site_of(resource),
        )
        parts = []
        for section in resource.get("section") or []:
            if isinstance(section, dict):
                body = _text_of("text/html", str((section.get("text") or {}).get("div") or "").encode())
                parts.append(f"{section.get('title', '')}\n{body}".strip())
        document.text = "\n\n".join(p for p in parts if p)
        return document
    if resource.get("resourceType") == "DiagnosticReport":
        attachments = [a for a in resource.get("presentedForm") or [] if isinstance(a, dict)]
        title = concept_text(resource.get("code"))
        author = ", ".join(str(p.get("display", "")) for p in resource.get("performer") or [] if isinstance(p, dict))
    else:
        attachments = [c.get("attachment") for c in resource.get("content") or [] if isinstance(c, dict)]
        attachments = [a for a in attachments if isinstance(a, dict)]
        title = concept_text(resource.get("type")) or str(resource.get("description") or "")
        author = ", ".join(str(p.get("display", "")) for p in resource.get("author") or [] if isinstance(p, dict))
    document = Document(
        ref=ref,
        title=title or clinical_word(str(resource.get("resourceType"))),
        when=dates.shown(dates.effective(resource)),
        author=author,
        site=site_of(resource),
    )
    texts = [str(resource["conclusion"])] if resource.get("conclusion") else []
    for index, attachment in enumerate(attachments):
        content_type = str(attachment.get("contentType") or "")
        label = str(attachment.get("title") or "")
        if content_type.startswith("text/"):
            raw = _decoded(attachment)
            if raw is None and str(attachment.get("url", "")).startswith("Binary/"):
                raw = binary_text(str(attachment["url"]))
            if raw is not None:
                texts.append(_text_of(content_type, raw))
                continue
        if content_type.startswith("image/"):
            document.images.append(content_url(ref, index))
            continue
        if attachment.get("data") or attachment.get("url"):
            kind = "PDF" if content_type == "application/pdf" else (content_type or _("file"))
            document.links.append({"url": content_url(ref, index), "label": label or document.title, "type": kind})
    if not texts and isinstance(resource.get("text"), dict) and resource["text"].get("div"):
        texts.append(_text_of("text/html", str(resource["text"]["div"]).encode()))
    document.text = "\n\n".join(t for t in texts if t)
    return document


def _study(resource: dict, site_of, parts: list[dict]) -> Study:
    ref = f"ImagingStudy/{resource.get('id')}"
    modalities = sorted({str(m.get("code")) for m in resource.get("modality") or [] if isinstance(m, dict)})
    series = [s for s in resource.get("series") or [] if isinstance(s, dict)]
    parts.sort(key=lambda m: (str((m.get("content") or {}).get("title") or ""), str(m.get("id"))))
    study = Study(
        ref=ref,
        title=str(resource.get("description") or "")
        or concept_text((resource.get("procedureCode") or [None])[0])
        or _("Imaging study"),
        when=dates.shown(resource.get("started")),
        modality=", ".join(modalities),
        site=site_of(resource),
        series=resource.get("numberOfSeries") or len(series),
        instances=resource.get("numberOfInstances") or sum(len(s.get("instance") or []) for s in series),
        slices=[content_url(f"Media/{m.get('id')}") for m in parts],
    )
    if not study.slices and resource.get("endpoint"):
        # The site's DICOMweb server (the study's Endpoint): its instances fetched through the hub, in order.
        instances = [i for s in series for i in sorted(s.get("instance") or [], key=lambda i: i.get("number") or 0)]
        study.slices = [
            reverse("records-web:instance", kwargs={"fhir_id": resource.get("id"), "index": n})
            for n in range(len(instances))
        ]
    if not study.slices:
        study.note = _("The images of this study are not stored at the hub.")
    return study


def build(*, patient_ref: str, resources: list[dict], sources: list[dict], site_of, binary_text) -> PatientRecord:
    """``site_of(resource)``: the name of the site a record comes from; ``binary_text(ref)``: a Binary's bytes."""
    patient = next(
        (r for r in resources if r.get("resourceType") == "Patient" and f"Patient/{r.get('id')}" == patient_ref), {}
    )
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(str(resource.get("resourceType")), []).append(resource)
    newest = lambda items: sorted(items, key=lambda r: dates.sort_key(dates.effective(r)), reverse=True)  # noqa: E731

    labs, vitals, ecgs, others = [], [], [], []
    for observation in by_type.get("Observation", []):
        code = loinc_code(observation.get("code"))
        if ecg.is_ecg(observation):
            ecgs.append(observation)
        elif code == BP_PANEL:
            vitals += _bp_components(observation)
        elif "vital-signs" in _categories(observation) or code in VITAL_CODES:
            vitals.append(observation)
        elif "laboratory" in _categories(observation) or "valueQuantity" in observation:
            labs.append(observation)
        else:
            others.append(observation)
    ecg_items = []
    for index, observation in enumerate(newest(ecgs)):
        title = concept_text(observation.get("code")) or _("ECG")
        interpretation = [concept_text(c) for c in observation.get("interpretation") or [] if c]
        ecg_items.append(
            {
                "ref": f"Observation/{observation.get('id')}",
                "title": title,
                "when": dates.shown(dates.effective(observation)),
                "site": site_of(observation),
                "conclusion": "; ".join(
                    x
                    for x in [
                        *interpretation,
                        *(n.get("text", "") for n in observation.get("note") or [] if isinstance(n, dict)),
                    ]
                    if x
                ),
                "svg": ecg.svg(observation, uid=f"{index}-{observation.get('id')}", title=title),
            }
        )

    media_by_study: dict[str, list[dict]] = {}
    images = []
    for media in by_type.get("Media", []):
        content_type = str((media.get("content") or {}).get("contentType") or "")
        study = next(
            (
                str(p.get("reference"))
                for p in media.get("partOf") or []
                if str((p or {}).get("reference", "")).startswith("ImagingStudy/")
            ),
            "",
        )
        if content_type in DICOM_TYPES and study:
            media_by_study.setdefault(study, []).append(media)
        elif content_type.startswith("image/"):
            item = _item(
                media,
                site_of,
                title=str((media.get("content") or {}).get("title") or "") or concept_text(media.get("modality")),
            )
            item.detail = content_url(item.ref)
            images.append(item)

    documents = [
        _document(r, site_of, binary_text)
        for r in newest(
            by_type.get("DocumentReference", []) + by_type.get("DiagnosticReport", []) + by_type.get("Composition", [])
        )
    ]
    vital_rows = _rows(vitals, site_of)
    medications = []
    for resource in newest(by_type.get("MedicationRequest", []) + by_type.get("MedicationStatement", [])):
        name, dosage = _medication(resource)
        medications.append(
            _item(resource, site_of, title=name, detail=dosage, status=status_word(resource.get("status")))
        )
    shown_types = {
        "Patient",
        "Observation",
        "Media",
        "DocumentReference",
        "DiagnosticReport",
        "ImagingStudy",
        "Condition",
        "AllergyIntolerance",
        "MedicationRequest",
        "MedicationStatement",
        "Encounter",
        "Binary",
        "Composition",
    }
    rest = [
        _item(r, site_of, title=concept_text(r.get("code")) or concept_text(r.get("vaccineCode")))
        for t, items in by_type.items()
        if t not in shown_types
        for r in items
    ]
    rest += [_item(o, site_of, title=concept_text(o.get("code")), detail=_value(o)[0]) for o in others]

    return PatientRecord(
        patient_ref=patient_ref,
        patient=patient,
        name=name_of(patient),
        gender=gender_word(str(patient.get("gender") or "")),
        birth_date=str(patient.get("birthDate") or ""),
        age=dates.age_years(str(patient.get("birthDate") or "")),
        identifiers=patient_identifiers(patient),
        sources=sources,
        problems=[
            _item(r, site_of, title=concept_text(r.get("code")), status=_status(r))
            for r in newest(by_type.get("Condition", []))
        ],
        allergies=[_allergy(r, site_of) for r in by_type.get("AllergyIntolerance", [])],
        medications=medications,
        encounters=[_encounter(r, site_of) for r in newest(by_type.get("Encounter", []))][:SUMMARY_ENCOUNTERS],
        labs=_rows(labs, site_of),
        vitals=vital_rows,
        vital_chart=_vital_chart(vital_rows),
        ecgs=ecg_items,
        documents=documents,
        studies=[
            _study(r, site_of, media_by_study.get(f"ImagingStudy/{r.get('id')}", []))
            for r in newest(by_type.get("ImagingStudy", []))
        ],
        images=images,
        others=sorted(rest, key=lambda i: i.when, reverse=True),
    )
