"""Realistic clinical content for the demo's emergency patients (hub.records shows it): an inferior STEMI for
the chest-pain cases (12-lead ECG as ``valueSampledData``, serial troponin and CK-MB, chemistry, coagulation,
blood count, vital signs, the emergency note and a PDF lab report) and, for the stroke case, a head CT series
(``record_imaging``), the stroke labs and the CT report.

Pure functions of a patient reference and a time: ``chest_pain_records`` / ``stroke_records`` return FHIR R4
resources (without ids) in the order they must be stored; Binaries come first and the records that name them
say ``"Binary/<n>"`` with ``n`` their index in the list, replaced by the stored id when loading.
"""

from __future__ import annotations

import base64
import math
import random
from datetime import datetime, timedelta

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
MDC = "urn:oid:2.16.840.1.113883.6.24"
DEMO_ID_SYSTEM = "urn:alliance:demo:record"
ECG_HZ = 500
ECG_SECONDS = 10

# Lead: (P, Q, R, S, T amplitudes in mV, ST shift in mV): an acute inferior STEMI (II, III, aVF elevated, with
# reciprocal depression in I and aVL, a Q wave forming in III).
STEMI_LEADS = {
    "I": (0.08, -0.05, 0.60, -0.10, 0.15, -0.12),
    "II": (0.12, -0.08, 1.00, -0.20, 0.45, 0.25),
    "III": (0.06, -0.25, 0.55, -0.10, 0.40, 0.30),
    "aVR": (-0.10, 0.00, 0.15, -0.60, -0.25, -0.05),
    "aVL": (0.03, -0.05, 0.35, -0.25, -0.15, -0.20),
    "aVF": (0.09, -0.15, 0.80, -0.10, 0.42, 0.28),
    "V1": (0.05, 0.00, 0.20, -0.90, -0.10, -0.08),
    "V2": (0.06, 0.00, 0.40, -1.20, 0.30, -0.10),
    "V3": (0.07, 0.00, 0.70, -0.80, 0.35, -0.05),
    "V4": (0.07, -0.05, 1.20, -0.50, 0.40, 0.00),
    "V5": (0.07, -0.08, 1.30, -0.30, 0.35, 0.00),
    "V6": (0.06, -0.06, 1.00, -0.20, 0.30, 0.00),
}
MDC_CODES = {
    "I": "131329",
    "II": "131330",
    "III": "131389",
    "aVR": "131390",
    "aVL": "131391",
    "aVF": "131392",
    "V1": "131331",
    "V2": "131332",
    "V3": "131333",
    "V4": "131334",
    "V5": "131335",
    "V6": "131336",
}


def _gauss(t: float, centre: float, width: float) -> float:
    return math.exp(-(((t - centre) / width) ** 2) / 2)


def _smooth(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def ecg_lead_microvolts(lead: str, *, heart_rate: int, seed: int) -> list[int]:
    """Ten seconds of one lead at 500 Hz, in microvolts."""
    p, q, r, s, t_wave, st = STEMI_LEADS[lead]
    rng = random.Random(f"{seed}-{lead}")
    rr = 60.0 / heart_rate
    values = []
    for i in range(ECG_HZ * ECG_SECONDS):
        time = i / ECG_HZ
        beat = (time + 0.3) % rr
        mv = (
            p * _gauss(beat, 0.10, 0.025)
            + q * _gauss(beat, 0.19, 0.008)
            + r * _gauss(beat, 0.21, 0.010)
            + s * _gauss(beat, 0.232, 0.010)
            + st * _smooth((beat - 0.235) / 0.02) * (1 - _smooth((beat - 0.40) / 0.08))
            + t_wave * _gauss(beat, 0.37, 0.045)
            + 0.03 * math.sin(2 * math.pi * 0.3 * time)  # breathing
            + rng.gauss(0, 0.008)
        )
        values.append(round(mv * 1000))
    return values


def _coding(code: str, display: str, system: str = LOINC) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _category(code: str) -> list[dict]:
    return [{"coding": [{"system": OBS_CATEGORY, "code": code}]}]


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def ecg_observation(patient_ref: str, at: datetime, *, seed: int, heart_rate: int = 88) -> dict:
    components = []
    for lead in STEMI_LEADS:
        data = ecg_lead_microvolts(lead, heart_rate=heart_rate, seed=seed)
        components.append(
            {
                "code": {"coding": [{"system": MDC, "code": MDC_CODES[lead], "display": f"Lead {lead}"}], "text": lead},
                "valueSampledData": {
                    "origin": {"value": 0, "unit": "uV", "system": UCUM, "code": "uV"},
                    "period": 1000 / ECG_HZ,
                    "factor": 1,
                    "dimensions": 1,
                    "data": " ".join(str(v) for v in data),
                },
            }
        )
    return {
        "resourceType": "Observation",
        "identifier": [{"system": DEMO_ID_SYSTEM, "value": f"{patient_ref}-ecg"}],
        "status": "final",
        "category": _category("procedure"),
        "code": _coding("11524-6", "EKG study"),
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _when(at),
        "note": [
            {
                "text": f"窦性心律，{heart_rate}次/分；II、III、aVF导联ST段抬高0.25-0.3 mV，I、aVL导联ST段压低；"
                "考虑急性下壁ST段抬高型心肌梗死"
            }
        ],
        "component": components,
    }


def lab(patient_ref, at, code, display, value, unit, low=None, high=None, *, category="laboratory") -> dict:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "category": _category(category),
        "code": _coding(code, display),
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _when(at),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if low is not None or high is not None:
        reference = {}
        if low is not None:
            reference["low"] = {"value": low, "unit": unit, "system": UCUM, "code": unit}
        if high is not None:
            reference["high"] = {"value": high, "unit": unit, "system": UCUM, "code": unit}
        observation["referenceRange"] = [reference]
        flag = "H" if high is not None and value > high else ("L" if low is not None and value < low else "N")
        observation["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag}]}]
    return observation


def blood_pressure(patient_ref: str, at: datetime, systolic: int, diastolic: int) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": _category("vital-signs"),
        "code": _coding("85354-9", "Blood pressure panel"),
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _when(at),
        "component": [
            {
                "code": _coding("8480-6", "Systolic blood pressure"),
                "valueQuantity": {"value": systolic, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": _coding("8462-4", "Diastolic blood pressure"),
                "valueQuantity": {"value": diastolic, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }


def vitals(patient_ref: str, times: list[datetime], rows: list[tuple]) -> list[dict]:
    """``rows``: per time, (heart rate, systolic, diastolic, SpO2, respiratory rate, temperature)."""
    out = []
    for at, (hr, sbp, dbp, spo2, rr, temp) in zip(times, rows, strict=True):
        out.append(lab(patient_ref, at, "8867-4", "Heart rate", hr, "/min", 60, 100, category="vital-signs"))
        out.append(blood_pressure(patient_ref, at, sbp, dbp))
        out.append(lab(patient_ref, at, "59408-5", "Oxygen saturation", spo2, "%", 95, None, category="vital-signs"))
        out.append(lab(patient_ref, at, "9279-1", "Respiratory rate", rr, "/min", 12, 20, category="vital-signs"))
        out.append(lab(patient_ref, at, "8310-5", "Body temperature", temp, "Cel", 36.0, 37.3, category="vital-signs"))
    return out


def condition(patient_ref: str, text: str, code: str, onset: str, *, status: str = "active") -> dict:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]
        },
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}
                ]
            }
        ],
        "code": {
            "coding": [{"system": "urn:oid:2.16.156.10011.2.3.3.11", "code": code, "display": text}],
            "text": text,
        },
        "subject": {"reference": patient_ref},
        "onsetDateTime": onset,
    }


def medication(patient_ref: str, text: str, dosage: str, authored: datetime, *, status: str = "active") -> dict:
    return {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"text": text},
        "subject": {"reference": patient_ref},
        "authoredOn": _when(authored),
        "dosageInstruction": [{"text": dosage}],
    }


def encounter(patient_ref: str, klass: str, display: str, reason: str, start: datetime, end: datetime | None) -> dict:
    resource = {
        "resourceType": "Encounter",
        "status": "finished" if end else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass, "display": display},
        "type": [{"text": display}],
        "subject": {"reference": patient_ref},
        "period": {"start": _when(start), **({"end": _when(end)} if end else {})},
        "reasonCode": [{"text": reason}],
    }
    return resource


def allergy(patient_ref: str, substance: str, reaction: str) -> dict:
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}
            ]
        },
        "criticality": "high",
        "code": {"text": substance},
        "patient": {"reference": patient_ref},
        "reaction": [{"manifestation": [{"text": reaction}]}],
    }


def text_document(patient_ref: str, code: str, display: str, text: str, at: datetime, author: str) -> dict:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": _coding(code, display),
        "subject": {"reference": patient_ref},
        "date": _when(at),
        "author": [{"display": author}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(text.encode()).decode(),
                    "title": display,
                }
            }
        ],
    }


def pdf_bytes(lines: list[str]) -> bytes:
    """A one-page PDF of ASCII lines (Helvetica), small and valid: what a lab system exports."""
    text = (
        "BT /F1 11 Tf 50 780 Td 15 TL "
        + " ".join(f"({line.replace('(', '[').replace(')', ']')}) '" for line in lines)
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def binary(content_type: str, content: bytes) -> dict:
    return {"resourceType": "Binary", "contentType": content_type, "data": base64.b64encode(content).decode()}


def chest_pain_records(patient_ref: str, now: datetime, *, seed: int = 1) -> list[dict]:
    """An acute inferior STEMI seen at a county emergency department ~3 hours ago."""
    arrival = now - timedelta(hours=3)
    draws = [arrival + timedelta(minutes=20), arrival + timedelta(minutes=95), arrival + timedelta(minutes=170)]
    p = patient_ref
    troponin = [0.02, 0.86, 3.41]
    ckmb = [4.1, 18.6, 42.3]
    report = pdf_bytes(
        [
            "Dongchuan County People's Hospital - Laboratory report",
            f"Patient: {patient_ref}    Collected: {draws[1]:%Y-%m-%d %H:%M}",
            "",
            "Troponin I          0.86 ng/mL   [0 - 0.04]   H",
            "CK-MB               18.6 ng/mL   [0 - 5]      H",
            "Myoglobin            240 ng/mL   [0 - 70]     H",
            "Glucose              9.8 mmol/L  [3.9 - 6.1]  H",
            "INR                 1.02         [0.8 - 1.2]",
            "",
            "Verified by: Lab physician Wang",
        ]
    )
    records = [binary("application/pdf", report)]
    records.append(ecg_observation(p, arrival + timedelta(minutes=6), seed=seed))
    for at, tni, ck in zip(draws, troponin, ckmb, strict=True):
        records.append(lab(p, at, "10839-9", "Troponin I.cardiac", tni, "ng/mL", 0, 0.04))
        records.append(lab(p, at, "13969-1", "CK-MB", ck, "ng/mL", 0, 5))
    records += [
        lab(p, draws[0], "2639-3", "Myoglobin", 96, "ng/mL", 0, 70),
        lab(p, draws[1], "2639-3", "Myoglobin", 240, "ng/mL", 0, 70),
        lab(p, draws[0], "2345-7", "Glucose", 9.8, "mmol/L", 3.9, 6.1),
        lab(p, draws[0], "6301-6", "INR", 1.02, "{INR}", 0.8, 1.2),
        lab(p, draws[0], "5902-2", "Prothrombin time", 12.1, "s", 11, 14.5),
        lab(p, draws[0], "3173-2", "aPTT", 30.4, "s", 25, 37),
        lab(p, draws[0], "48065-7", "D-dimer", 0.32, "mg/L", 0, 0.5),
        lab(p, draws[0], "2823-3", "Potassium", 3.4, "mmol/L", 3.5, 5.3),
        lab(p, draws[0], "2951-2", "Sodium", 139, "mmol/L", 135, 145),
        lab(p, draws[0], "2160-0", "Creatinine", 88, "umol/L", 57, 111),
        lab(p, draws[0], "718-7", "Hemoglobin", 142, "g/L", 130, 175),
        lab(p, draws[0], "6690-2", "Leukocytes", 11.2, "10*9/L", 3.5, 9.5),
        lab(p, draws[0], "777-3", "Platelets", 231, "10*9/L", 125, 350),
        lab(p, draws[0], "33762-6", "NT-proBNP", 460, "pg/mL", 0, 125),
        lab(p, draws[0], "13457-7", "LDL cholesterol", 4.1, "mmol/L", 0, 3.4),
    ]
    records += vitals(
        p,
        [arrival, arrival + timedelta(minutes=60), arrival + timedelta(minutes=150)],
        [(96, 150, 92, 95, 20, 36.6), (92, 138, 86, 96, 18, 36.7), (88, 128, 80, 97, 18, 36.8)],
    )
    records += [
        condition(p, "急性下壁ST段抬高型心肌梗死", "I21.1", _when(arrival)),
        condition(p, "高血压病3级（极高危）", "I10", "2015-04"),
        condition(p, "2型糖尿病", "E11.9", "2019-09"),
        allergy(p, "青霉素", "皮疹、瘙痒"),
        medication(p, "阿司匹林肠溶片 100 mg", "每日1次，口服", arrival - timedelta(days=400)),
        medication(p, "硝苯地平控释片 30 mg", "每日1次，口服", arrival - timedelta(days=400)),
        medication(p, "二甲双胍片 0.5 g", "每日3次，随餐口服", arrival - timedelta(days=300)),
        medication(p, "阿司匹林 300 mg", "嚼服，负荷量（急诊）", arrival + timedelta(minutes=12), status="completed"),
        medication(p, "替格瑞洛 180 mg", "口服，负荷量（急诊）", arrival + timedelta(minutes=12), status="completed"),
        medication(p, "阿托伐他汀钙片 40 mg", "每晚1次，口服", arrival + timedelta(minutes=15)),
        encounter(p, "EMER", "急诊", "胸痛3小时", arrival, None),
        encounter(
            p, "AMB", "门诊", "高血压、糖尿病复诊", arrival - timedelta(days=62), arrival - timedelta(days=62, hours=-1)
        ),
        encounter(
            p, "IMP", "住院", "高血压病3级，血压控制不佳", arrival - timedelta(days=420), arrival - timedelta(days=413)
        ),
        text_document(
            p,
            "34111-5",
            "Emergency department note",
            "主诉：胸骨后压榨样疼痛3小时，伴大汗、恶心。\n"
            "现病史：患者3小时前活动后突发胸骨后压榨样疼痛，向左肩放射，持续不缓解，含服硝酸甘油无效。\n"
            "既往史：高血压病10年，2型糖尿病6年；青霉素过敏。吸烟30年，每日20支。\n"
            "查体：BP 150/92 mmHg，HR 96次/分，双肺底少许湿啰音，心律齐，未闻及杂音。Killip II级。\n"
            "辅助检查：首份心电图（到院6分钟）示II、III、aVF导联ST段抬高；肌钙蛋白I 0.86 ng/mL（↑）。\n"
            "初步诊断：急性下壁ST段抬高型心肌梗死。\n"
            "处理：阿司匹林300 mg、替格瑞洛180 mg嚼服，阿托伐他汀40 mg；已联系上级医院胸痛中心，拟转运行急诊PCI。",
            arrival + timedelta(minutes=25),
            "急诊科 李医生",
        ),
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": _coding("11502-2", "Laboratory report"),
            "subject": {"reference": p},
            "date": _when(draws[1] + timedelta(minutes=30)),
            "author": [{"display": "检验科"}],
            "content": [{"attachment": {"contentType": "application/pdf", "url": "Binary/0", "title": "检验报告.pdf"}}],
        },
    ]
    return records


def stroke_records(
    patient_ref: str, now: datetime, *, slices: list[bytes], study_uid: str, series_uid: str, instance_uids: list[str]
) -> list[dict]:
    """An acute ischaemic stroke (left MCA) with a non-contrast head CT (``slices``: DICOM files, in order)."""
    arrival = now - timedelta(hours=2)
    scan = arrival + timedelta(minutes=18)
    p = patient_ref
    records = [binary("application/dicom", dicom) for dicom in slices]
    study = {
        "resourceType": "ImagingStudy",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
        "status": "available",
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
        "subject": {"reference": p},
        "started": _when(scan),
        "numberOfSeries": 1,
        "numberOfInstances": len(slices),
        "procedureCode": [_coding("30799-1", "Head CT WO contrast")],
        "description": "头颅CT平扫",
        "series": [
            {
                "uid": series_uid,
                "number": 1,
                "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
                "description": "Axial 5 mm",
                "numberOfInstances": len(slices),
                "bodySite": {"system": "http://snomed.info/sct", "code": "69536005", "display": "Head"},
                "instance": [
                    {
                        "uid": uid,
                        "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2"},
                        "number": n,
                    }
                    for n, uid in enumerate(instance_uids, 1)
                ],
            }
        ],
    }
    records.append(study)
    study_index = len(records) - 1
    for n in range(len(slices)):
        records.append(
            {
                "resourceType": "Media",
                "status": "completed",
                "partOf": [{"reference": f"ImagingStudy/{study_index}"}],
                "modality": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}]},
                "subject": {"reference": p},
                "createdDateTime": _when(scan),
                "content": {"contentType": "application/dicom", "url": f"Binary/{n}", "title": f"CT {n + 1:03d}"},
            }
        )
    draw = arrival + timedelta(minutes=10)
    records += [
        lab(p, draw, "41653-7", "Glucose (glucometer)", 7.2, "mmol/L", 3.9, 7.8),
        lab(p, draw, "6301-6", "INR", 1.0, "{INR}", 0.8, 1.2),
        lab(p, draw, "777-3", "Platelets", 198, "10*9/L", 125, 350),
        lab(p, draw, "5902-2", "Prothrombin time", 11.8, "s", 11, 14.5),
        lab(p, draw, "2160-0", "Creatinine", 76, "umol/L", 57, 111),
    ]
    records += vitals(
        p,
        [arrival, arrival + timedelta(minutes=40)],
        [(84, 178, 102, 97, 18, 36.5), (80, 168, 96, 97, 17, 36.6)],
    )
    records += [
        condition(p, "急性缺血性脑卒中（左侧大脑中动脉供血区）", "I63.9", _when(arrival - timedelta(minutes=70))),
        condition(p, "心房颤动", "I48.9", "2021-03"),
        condition(p, "高血压病2级", "I10", "2012-06"),
        medication(
            p, "华法林钠片 2.5 mg", "每日1次，口服（自行停药2月）", arrival - timedelta(days=500), status="stopped"
        ),
        medication(p, "氨氯地平片 5 mg", "每日1次，口服", arrival - timedelta(days=500)),
        encounter(p, "EMER", "急诊", "右侧肢体无力、言语不清70分钟", arrival, None),
        encounter(p, "AMB", "门诊", "房颤随访", arrival - timedelta(days=90), arrival - timedelta(days=90, hours=-1)),
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}]}],
            "code": _coding("30799-1", "Head CT WO contrast"),
            "subject": {"reference": p},
            "effectiveDateTime": _when(scan),
            "issued": _when(scan + timedelta(minutes=12)),
            "performer": [{"display": "放射科 赵医生"}],
            "imagingStudy": [{"reference": f"ImagingStudy/{study_index}"}],
            "conclusion": "颅内未见出血。左侧大脑中动脉M1段高密度征，左侧岛叶皮层灰白质分界稍模糊（早期缺血改变，"
            "ASPECTS 9分）。脑室系统未见扩大，中线结构居中。",
        },
        text_document(
            p,
            "34111-5",
            "Emergency department note",
            "主诉：右侧肢体无力伴言语不清70分钟。\n"
            "现病史：患者70分钟前看电视时突发右侧肢体无力，不能行走，言语含糊，无头痛呕吐。\n"
            "既往史：心房颤动3年，自行停用华法林2月；高血压病14年。\n"
            "查体：BP 178/102 mmHg，神清，运动性失语，右侧中枢性面舌瘫，右上肢肌力1级、右下肢2级。NIHSS 14分。\n"
            "辅助检查：指尖血糖7.2 mmol/L；头颅CT平扫未见出血，左侧MCA高密度征。INR 1.0。\n"
            "初步诊断：急性缺血性脑卒中（心源性栓塞可能）。\n"
            "处理：已启动卒中绿色通道，拟静脉溶栓并申请上级医院评估血管内治疗。",
            arrival + timedelta(minutes=30),
            "急诊科 王医生",
        ),
    ]
    return records
