"""Words for people instead of codes: LOINC display names in the page's language and clinical words for FHIR types.

``LOINC`` is a compact display table (code -> English, Simplified Chinese) of the codes county hospitals send
most: cardiac markers, chemistry, coagulation, blood count, blood gas, vital signs, ECG and the common document
kinds. English names follow the LOINC short/display names (those the R4 value sets carry, e.g. ``11524-6`` "EKG
study", where they have them); the Chinese names are the ones used in Chinese laboratory reports. A code not in
the table shows the record's own text or display, so nothing is hidden.
"""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

LOINC_SYSTEM = "http://loinc.org"

# code: (English, 简体中文)
LOINC: dict[str, tuple[str, str]] = {
    # cardiac markers
    "10839-9": ("Troponin I (cardiac)", "肌钙蛋白I"),
    "6598-7": ("Troponin T (cardiac)", "肌钙蛋白T"),
    "89579-7": ("Troponin I, high sensitivity", "高敏肌钙蛋白I"),
    "67151-1": ("Troponin T, high sensitivity", "高敏肌钙蛋白T"),
    "13969-1": ("CK-MB", "肌酸激酶同工酶"),
    "2157-6": ("Creatine kinase", "肌酸激酶"),
    "30934-4": ("BNP", "脑钠肽"),
    "33762-6": ("NT-proBNP", "N末端脑钠肽前体"),
    "48065-7": ("D-dimer", "D-二聚体"),
    "30522-7": ("C-reactive protein, high sensitivity", "超敏C反应蛋白"),
    "2532-0": ("Lactate dehydrogenase", "乳酸脱氢酶"),
    "2639-3": ("Myoglobin", "肌红蛋白"),
    # chemistry
    "2345-7": ("Glucose", "血糖"),
    "2339-0": ("Glucose (blood)", "全血葡萄糖"),
    "41653-7": ("Glucose (capillary, glucometer)", "指尖血糖"),
    "4548-4": ("Hemoglobin A1c", "糖化血红蛋白"),
    "2160-0": ("Creatinine", "肌酐"),
    "3094-0": ("Urea nitrogen", "尿素氮"),
    "33914-3": ("eGFR", "估算肾小球滤过率"),
    "2823-3": ("Potassium", "钾"),
    "2951-2": ("Sodium", "钠"),
    "2075-0": ("Chloride", "氯"),
    "17861-6": ("Calcium", "钙"),
    "1742-6": ("ALT", "丙氨酸氨基转移酶"),
    "1920-8": ("AST", "天门冬氨酸氨基转移酶"),
    "1975-2": ("Bilirubin, total", "总胆红素"),
    "1751-7": ("Albumin", "白蛋白"),
    "2093-3": ("Cholesterol, total", "总胆固醇"),
    "2571-8": ("Triglyceride", "甘油三酯"),
    "13457-7": ("LDL cholesterol", "低密度脂蛋白胆固醇"),
    "2085-9": ("HDL cholesterol", "高密度脂蛋白胆固醇"),
    "1988-5": ("C-reactive protein", "C反应蛋白"),
    "33959-8": ("Procalcitonin", "降钙素原"),
    "2524-7": ("Lactate", "乳酸"),
    "2098-2": ("Cholinesterase", "胆碱酯酶"),
    "20563-3": ("Carboxyhemoglobin", "碳氧血红蛋白"),
    "3016-3": ("TSH", "促甲状腺激素"),
    # coagulation
    "6301-6": ("INR", "国际标准化比值"),
    "5902-2": ("Prothrombin time", "凝血酶原时间"),
    "3173-2": ("aPTT", "活化部分凝血活酶时间"),
    "3255-7": ("Fibrinogen", "纤维蛋白原"),
    # blood count
    "6690-2": ("White blood cells", "白细胞计数"),
    "789-8": ("Red blood cells", "红细胞计数"),
    "718-7": ("Hemoglobin", "血红蛋白"),
    "4544-3": ("Hematocrit", "红细胞压积"),
    "777-3": ("Platelets", "血小板计数"),
    "770-8": ("Neutrophils %", "中性粒细胞百分比"),
    # blood gas
    "2744-1": ("pH (arterial)", "动脉血pH"),
    "2703-7": ("pO2 (arterial)", "动脉血氧分压"),
    "2019-8": ("pCO2 (arterial)", "动脉血二氧化碳分压"),
    "1960-4": ("Bicarbonate (arterial)", "碳酸氢根"),
    # vital signs (http://hl7.org/fhir/R4/observation-vitalsigns.html)
    "85353-1": ("Vital signs panel", "生命体征"),
    "8867-4": ("Heart rate", "心率"),
    "9279-1": ("Respiratory rate", "呼吸频率"),
    "8310-5": ("Body temperature", "体温"),
    "85354-9": ("Blood pressure", "血压"),
    "8480-6": ("Systolic blood pressure", "收缩压"),
    "8462-4": ("Diastolic blood pressure", "舒张压"),
    "59408-5": ("Oxygen saturation (pulse oximetry)", "血氧饱和度"),
    "2708-6": ("Oxygen saturation", "血氧饱和度"),
    "29463-7": ("Body weight", "体重"),
    "8302-2": ("Body height", "身高"),
    "39156-5": ("Body mass index", "体重指数"),
    "9269-2": ("Glasgow coma score", "格拉斯哥昏迷评分"),
    "72514-3": ("Pain severity (0-10)", "疼痛评分"),
    # ECG and its leads (lead names are shown as the standard lead labels)
    "11524-6": ("ECG", "心电图"),
    "34534-8": ("12-lead ECG", "12导联心电图"),
    "8601-7": ("ECG impression", "心电图诊断"),
    "8625-6": ("P-R interval", "PR间期"),
    "8633-0": ("QRS duration", "QRS时限"),
    "8636-3": ("Q-T interval corrected", "校正QT间期"),
    # documents and reports
    "34117-2": ("History and physical note", "入院记录"),
    "11506-3": ("Progress note", "病程记录"),
    "18842-5": ("Discharge summary", "出院小结"),
    "34111-5": ("Emergency department note", "急诊病历"),
    "11488-4": ("Consultation note", "会诊记录"),
    "28570-0": ("Procedure note", "操作记录"),
    "11502-2": ("Laboratory report", "检验报告"),
    "18748-4": ("Diagnostic imaging study", "影像检查报告"),
    "30799-1": ("Head CT without contrast", "头颅CT平扫"),
    "24627-2": ("Chest CT", "胸部CT"),
    "36643-5": ("Chest X-ray (2 views)", "胸部X线正侧位"),
    "58410-2": ("Complete blood count panel", "血常规"),
    "24323-8": ("Comprehensive metabolic panel", "生化全项"),
    "34714-6": ("Coagulation panel (INR)", "凝血功能"),
    "18723-7": ("Hematology studies", "血液学检查"),
}


def chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def loinc_name(code: str) -> str | None:
    """The LOINC code's name in the page's language, or None when the table does not have it."""
    names = LOINC.get(code)
    if names is None:
        return None
    return names[1] if chinese() else names[0]


def concept_text(concept: dict | None) -> str:
    """A CodeableConcept as people read it: the LOINC table in the page's language, else its text, else a display."""
    if not isinstance(concept, dict):
        return ""
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    for coding in codings:
        if coding.get("system") == LOINC_SYSTEM:
            name = loinc_name(str(coding.get("code", "")))
            if name:
                return name
    if concept.get("text"):
        return str(concept["text"])
    for coding in codings:
        if coding.get("display"):
            return str(coding["display"])
    return str(codings[0].get("code", "")) if codings else ""


def loinc_code(concept: dict | None) -> str:
    for coding in (concept or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == LOINC_SYSTEM and coding.get("code"):
            return str(coding["code"])
    return ""


# FHIR resource types as clinicians call them.
CLINICAL_WORDS = {
    "Observation": _("Result"),
    "Condition": _("Problem"),
    "AllergyIntolerance": _("Allergy"),
    "MedicationRequest": _("Prescription"),
    "MedicationStatement": _("Medication"),
    "MedicationAdministration": _("Medication given"),
    "Encounter": _("Visit"),
    "DocumentReference": _("Document"),
    "DiagnosticReport": _("Report"),
    "ImagingStudy": _("Imaging study"),
    "Media": _("Image"),
    "Procedure": _("Procedure"),
    "Immunization": _("Vaccination"),
    "CarePlan": _("Care plan"),
    "ServiceRequest": _("Order"),
    "Composition": _("Clinical document"),
    "Binary": _("File"),
    "Patient": _("Patient"),
    "Consent": _("Consent"),
    "Task": _("Task"),
    "Appointment": _("Appointment"),
    "Communication": _("Message"),
}

ENCOUNTER_CLASSES = {
    "AMB": _("Outpatient"),
    "EMER": _("Emergency"),
    "IMP": _("Inpatient"),
    "ACUTE": _("Inpatient (acute)"),
    "OBSENC": _("Observation stay"),
    "HH": _("Home visit"),
    "VR": _("Telemedicine"),
    "SS": _("Day surgery"),
}

STATUS_WORDS = {
    "active": _("active"),
    "recurrence": _("recurrence"),
    "relapse": _("relapse"),
    "inactive": _("inactive"),
    "remission": _("remission"),
    "resolved": _("resolved"),
    "completed": _("completed"),
    "stopped": _("stopped"),
    "on-hold": _("on hold"),
    "cancelled": _("cancelled"),
    "in-progress": _("in progress"),
    "finished": _("finished"),
    "planned": _("planned"),
    "arrived": _("arrived"),
    "final": _("final"),
    "preliminary": _("preliminary"),
    "amended": _("amended"),
    "high": _("high"),
    "low": _("low"),
}


def clinical_word(resource_type: str) -> str:
    return str(CLINICAL_WORDS.get(resource_type, resource_type))


def status_word(code: str | None) -> str:
    return str(STATUS_WORDS.get(code or "", code or ""))
