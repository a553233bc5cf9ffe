"""ECGs drawn as tracings: an Observation's ``valueSampledData`` (one per lead, in its components) as SVG.

Paper as clinicians read it: 25 mm/s and 10 mm/mV on a 1 mm / 5 mm grid, a 1 mV calibration pulse at the
start of each row. Twelve leads are laid out 3 x 4 (I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6), 2.5 s each,
with a 10 s rhythm strip of lead II underneath; any other set of leads gets one full-width row per lead.
(http://hl7.org/fhir/R4/datatypes.html#SampledData: value = origin + factor x data, ``period`` ms between samples.)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape

MM_PER_S = 25.0
MM_PER_MV = 10.0
ROW_MM = 30.0
LABEL_MM = 8.0  # the calibration pulse and the lead name before each row
LAYOUT_12 = [["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"]]
RHYTHM_LEAD = "II"
PLOT_HZ = 200  # points drawn per second (the screen cannot show more at this size)
LEAD_NAMES = {n.lower(): n for row in LAYOUT_12 for n in row}
# ISO/IEEE 11073 MDC codes of the 12 standard leads (MDC_ECG_LEAD_*).
MDC_LEADS = {
    "131329": "I", "131330": "II", "131389": "III", "131390": "aVR", "131391": "aVL", "131392": "aVF",
    "131331": "V1", "131332": "V2", "131333": "V3", "131334": "V4", "131335": "V5", "131336": "V6",
}  # fmt: skip


@dataclass
class Lead:
    name: str
    hz: float
    millivolts: list[float]

    @property
    def seconds(self) -> float:
        return len(self.millivolts) / self.hz if self.hz else 0.0


def lead_name(concept: dict | None) -> str:
    concept = concept or {}
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and str(coding.get("code")) in MDC_LEADS:
            return MDC_LEADS[str(coding["code"])]
    for text in [concept.get("text")] + [c.get("display") for c in concept.get("coding") or [] if isinstance(c, dict)]:
        if isinstance(text, str) and text:
            cleaned = text.replace("Lead", "").replace("lead", "").replace("导联", "").strip()
            return LEAD_NAMES.get(cleaned.lower(), cleaned)
    return "?"


def _lead(name: str, sampled: dict) -> Lead | None:
    try:
        period_ms = float(sampled.get("period") or 0)
        factor = float(sampled.get("factor") or 1)
        origin = sampled.get("origin") or {}
        offset = float(origin.get("value") or 0)
        values = [
            offset + factor * float(x) for x in str(sampled.get("data") or "").split() if x not in ("E", "L", "U")
        ]
    except (TypeError, ValueError):
        return None
    if period_ms <= 0 or not values:
        return None
    unit = str(origin.get("unit") or origin.get("code") or "mV")
    scale = 0.001 if unit in ("uV", "µV", "microvolt") else (1000.0 if unit == "V" else 1.0)
    return Lead(name=name, hz=1000.0 / period_ms, millivolts=[v * scale for v in values])


def leads_of(observation: dict) -> list[Lead]:
    """The leads an Observation carries (its components' sampled data, or its own value as one lead)."""
    leads = []
    for component in observation.get("component") or []:
        if isinstance(component, dict) and isinstance(component.get("valueSampledData"), dict):
            lead = _lead(lead_name(component.get("code")), component["valueSampledData"])
            if lead:
                leads.append(lead)
    if not leads and isinstance(observation.get("valueSampledData"), dict):
        lead = _lead("II", observation["valueSampledData"])
        if lead:
            leads.append(lead)
    return leads


def is_ecg(observation: dict) -> bool:
    return bool(leads_of(observation))


def _points(lead: Lead, start_s: float, seconds: float, x0: float, baseline: float) -> str:
    step = max(1, round(lead.hz / PLOT_HZ))
    first, last = int(start_s * lead.hz), min(len(lead.millivolts), int((start_s + seconds) * lead.hz))
    out = []
    for i in range(first, last, step):
        x = x0 + (i - first) / lead.hz * MM_PER_S
        y = baseline - lead.millivolts[i] * MM_PER_MV
        out.append(f"{x:.1f},{y:.1f}")
    return " ".join(out)


def _calibration(x: float, baseline: float) -> str:
    top = baseline - MM_PER_MV
    corners = [(x, baseline), (x + 1, baseline), (x + 1, top), (x + 6, top), (x + 6, baseline), (x + 7, baseline)]
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in corners)


def svg(observation: dict, *, uid: str, title: str) -> str:
    """The tracing as an SVG document fragment (``uid`` keeps the grid pattern's id unique on the page)."""
    leads = {lead.name: lead for lead in leads_of(observation)}
    if not leads:
        return ""
    rows: list[list[tuple[str, float, float]]] = []  # per row: (lead, start s, seconds)
    standard = all(name in leads for row in LAYOUT_12 for name in row)
    if standard:
        for row in LAYOUT_12:
            rows.append([(name, col * 2.5, 2.5) for col, name in enumerate(row)])
        rhythm = leads[RHYTHM_LEAD]
        rows.append([(RHYTHM_LEAD, 0.0, min(10.0, rhythm.seconds))])
    else:
        rows = [[(name, 0.0, min(10.0, lead.seconds))] for name, lead in leads.items()]
    width = LABEL_MM + 10.0 * MM_PER_S + 2
    height = ROW_MM * len(rows) + 4
    grid = f"ecg-grid-{uid}"
    parts = [
        f'<svg class="ecg-svg" viewBox="0 0 {width:.0f} {height:.0f}" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<defs><pattern id="{grid}-s" width="1" height="1" patternUnits="userSpaceOnUse">'
        f'<path d="M1 0H0V1" fill="none" stroke="#f4c6c6" stroke-width="0.1"/></pattern>'
        f'<pattern id="{grid}" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="url(#{grid}-s)"/>'
        f'<path d="M5 0H0V5" fill="none" stroke="#e59393" stroke-width="0.2"/></pattern></defs>',
        f'<rect class="ecg-paper" width="{width:.0f}" height="{height:.0f}" fill="#fff8f8"/>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="url(#{grid})"/>',
    ]
    for index, row in enumerate(rows):
        baseline = 2 + ROW_MM * index + ROW_MM * 0.6
        calibration = _calibration(0.5, baseline)
        parts.append(f'<polyline class="ecg-cal" points="{calibration}" fill="none" stroke="#111" stroke-width="0.3"/>')
        for name, start, seconds in row:
            x0 = LABEL_MM + start * MM_PER_S
            lead = leads[name]
            points = _points(lead, start, seconds, x0, baseline)
            parts.append(
                f'<polyline class="ecg-lead" data-lead="{escape(name)}" points="{points}" fill="none" stroke="#111" '
                f'stroke-width="0.3" stroke-linejoin="round"/>'
            )
            parts.append(
                f'<text x="{x0 + 1:.1f}" y="{baseline - 12:.1f}" font-size="3.2" fill="#111">{escape(name)}</text>'
            )
            if start > 0:
                parts.append(
                    f'<line x1="{x0:.1f}" x2="{x0:.1f}" y1="{baseline - 3:.1f}" y2="{baseline + 3:.1f}" '
                    'stroke="#111" stroke-width="0.3"/>'
                )
    parts.append("</svg>")
    return "".join(parts)
