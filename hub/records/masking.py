"""Identifiers masked by default: a record shown on a ward round shows who the patient is, not their ID number.

A resident ID keeps its first 6 characters (the region where it was issued) and its last 4; a phone number
its first 3 and last 4; any other identifier its last 4 when it is long enough to matter. The full values
are only sent when the user asks (``services.identifiers_reveal``, audited).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from federation.identity.resident_id import RESIDENT_ID_SYSTEM

MASK = "*"


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return MASK * len(value) if len(value) > tail else value
    return value[:head] + MASK * (len(value) - head - tail) + value[-tail:]


def is_resident_id(identifier: dict) -> bool:
    codes = {c.get("code") for c in (identifier.get("type") or {}).get("coding") or [] if isinstance(c, dict)}
    return identifier.get("system") == RESIDENT_ID_SYSTEM or "NI" in codes


def mask_identifier(identifier: dict) -> str:
    value = str(identifier.get("value") or "")
    if is_resident_id(identifier):
        return _keep(value, 6, 4)
    if len(value) >= 8:
        return _keep(value, 2, 4)
    return value


def mask_phone(value: str) -> str:
    return _keep(value, 3, 4)


def identifier_kind(identifier: dict) -> str:
    """What an identifier is, for people."""
    if is_resident_id(identifier):
        return _("Resident ID")
    codes = {c.get("code") for c in (identifier.get("type") or {}).get("coding") or [] if isinstance(c, dict)}
    system = str(identifier.get("system") or "")
    if "MR" in codes or system.lower().endswith("mrn"):
        return _("Record number")
    if (identifier.get("type") or {}).get("text"):
        return str(identifier["type"]["text"])
    return system.rsplit(":", 1)[-1].rsplit("/", 1)[-1] or _("Identifier")


def patient_identifiers(patient: dict) -> list[dict]:
    """The Patient's identifiers and phone numbers, each as ``{key, kind, masked, full}`` (``full`` is for the
    reveal only: templates show ``masked``)."""
    rows = []
    for index, identifier in enumerate(patient.get("identifier") or []):
        if isinstance(identifier, dict) and identifier.get("value"):
            rows.append(
                {
                    "key": f"id{index}",
                    "kind": identifier_kind(identifier),
                    "masked": mask_identifier(identifier),
                    "full": str(identifier["value"]),
                }
            )
    for index, telecom in enumerate(patient.get("telecom") or []):
        if isinstance(telecom, dict) and telecom.get("system") == "phone" and telecom.get("value"):
            value = str(telecom["value"])
            rows.append({"key": f"tel{index}", "kind": _("Phone"), "masked": mask_phone(value), "full": value})
    return rows
