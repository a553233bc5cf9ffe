"""``{% patient_record patient_ref %}``: the readable record of a patient, as the signed-in user may see it."""

from __future__ import annotations

from django import template

from hub.records.selectors import patient_record_or_none

register = template.Library()


@register.inclusion_tag("records/_record_body.html", takes_context=True)
def patient_record(context, patient_ref, presentable=False):
    request = context.get("request")
    user = getattr(request, "user", None)
    record = patient_record_or_none(user=user, patient_ref=str(patient_ref or "")) if user is not None else None
    return {"record": record, "presentable": bool(presentable), "request": request, "patient_ref": patient_ref}


@register.filter
def patient_id(patient_ref) -> str:
    return str(patient_ref or "").partition("/")[2]


@register.inclusion_tag("records/_item.html", takes_context=True)
def record_item(context, reference):
    """One record as the record shows it (a room's presented record: the ECG drawn, the CT in the viewer)."""
    from hub.records.selectors import record_item_or_none

    request = context.get("request")
    user = getattr(request, "user", None)
    record = record_item_or_none(user=user, reference=str(reference or "")) if user is not None else None
    return {"record": record, "ref": reference, "request": request}
