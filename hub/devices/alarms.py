"""Alarms: physiological (a patient's limits, or their age group's defaults) and technical (leads off, no
signal, offline), each recorded as a FHIR Flag (and the Observation with its interpretation that raised it),
told to the patient's treating team (the county doctor, the request's specialists, the room's participants),
acknowledged by one of them (a DetectedIssue with its mitigation) or escalated when no one does."""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.access.devices import treating_check
from hub.access.patients import patient_visible
from hub.api_errors import ConflictError, DomainError, NotFoundError
from hub.devices import caches, fhir
from hub.devices.audit import limits_audited
from hub.devices.caches import expires
from hub.devices.constants import BY_KEY, DEFAULT_LIMITS, TECHNICAL, AlarmKind, AlarmPriority, Parameter
from hub.devices.events import frame_publish
from hub.devices.models import Alarm, Device, Strip, Summary, Threshold
from hub.devices.strips import strips_around_alarm, strips_complete

logger = logging.getLogger(__name__)

_limits: dict[str, tuple[dict, float]] = {}
_open: dict[int, tuple[set[str], float]] = {}
_lock = threading.Lock()


def caches_clear() -> None:
    with _lock:
        _limits.clear()
        _open.clear()


def caches_warm(*, device_id: int, patient_ref: str) -> None:
    """Load what a message of this device will ask for (the ingest's start: see ``caches.warm``)."""
    limits_of(patient_ref)
    _open_conditions(device_id)


# -- limits ----------------------------------------------------------------------------------------------------
def age_group(birth_date: str | None, today: date | None = None) -> str:
    if not birth_date:
        return "adult"
    try:
        born = date.fromisoformat(birth_date[:10]) if len(birth_date) >= 10 else date(int(birth_date[:4]), 1, 1)
    except ValueError:
        return "adult"
    years = ((today or timezone.localdate()) - born).days / 365.25
    return "infant" if years < 1 else "child" if years < 12 else "adult"


def _defaults_of(patient_ref: str) -> dict[str, tuple]:
    """The default limits of the patient's age group."""
    from fhir_gateway.public import contents_of

    fhir_id = patient_ref.partition("/")[2]
    patient = contents_of(resource_type="Patient", fhir_ids=[fhir_id]).get(fhir_id) or {}
    return dict(DEFAULT_LIMITS[age_group(patient.get("birthDate"))])


def limits_of(patient_ref: str) -> dict[str, tuple]:
    """``{parameter: (low, high, critical low, critical high)}``: the patient's own limits over the defaults."""
    entry = _limits.get(patient_ref)
    if entry is not None and time.monotonic() < entry[1]:
        return entry[0]
    limits = _defaults_of(patient_ref)
    for threshold in Threshold.objects.filter(patient_ref=patient_ref):
        default = limits.get(threshold.parameter, (None, None, None, None))
        limits[threshold.parameter] = (threshold.low, threshold.high, default[2], default[3])
    with _lock:
        _limits[patient_ref] = (limits, expires())
    return limits


def limits_table(patient_ref: str) -> list[dict]:
    """Each parameter's alarm limits as the live page shows them: ``{parameter, low, high, own}`` (``own``: the
    patient's own limits, else the age group's defaults), in the order of the parameters."""
    defaults = _defaults_of(patient_ref)
    own = {t.parameter: t for t in Threshold.objects.filter(patient_ref=patient_ref)}
    rows = []
    for key, parameter in BY_KEY.items():
        if key in own:
            rows.append({"parameter": parameter, "low": own[key].low, "high": own[key].high, "own": True})
        elif key in defaults:
            rows.append({"parameter": parameter, "low": defaults[key][0], "high": defaults[key][1], "own": False})
    return rows


def limits_access(*, user, patient_ref: str) -> None:
    """May ``user`` change the patient's alarm limits (``treating_check``)? A refusal goes into the audit trail."""
    try:
        treating_check(user, patient_ref)
    except DomainError as refusal:
        limits_audited(user=user, patient_ref=patient_ref, status=refusal.status)
        raise


def threshold_check(*, parameter: str, low: float | None, high: float | None) -> Parameter:
    """The parameter, if ``low`` and ``high`` are limits it can have (``DomainError`` saying why not)."""
    found = BY_KEY.get(parameter)
    if found is None or found.wave:
        raise NotFoundError(_("No such parameter."))
    for value in (low, high):
        if value is not None and (not math.isfinite(value) or not found.low <= value <= found.high):
            raise DomainError(
                _("%(label)s limits are between %(low)s and %(high)s.")
                % {"label": found.label, "low": f"{found.low:g}", "high": f"{found.high:g}"},
                code="impossible_value",
            )
    if low is not None and high is not None and low >= high:
        raise DomainError(_("The low limit must be below the high limit."))
    return found


def threshold_set(*, user, patient_ref: str, parameter: str, low: float | None, high: float | None) -> Threshold:
    """A treating clinician sets the patient's limits for one parameter (None: no limit); audited."""
    limits_access(user=user, patient_ref=patient_ref)
    threshold_check(parameter=parameter, low=low, high=high)
    with transaction.atomic():
        threshold, _created = Threshold.objects.update_or_create(
            patient_ref=patient_ref, parameter=parameter, defaults={"low": low, "high": high, "updated_by": user}
        )
        limits_audited(user=user, patient_ref=patient_ref, status=200, parameter=parameter, low=low, high=high)
        transaction.on_commit(caches.changed)
    return threshold


def threshold_reset(*, user, patient_ref: str, parameter: str) -> bool:
    """A treating clinician goes back to the age group's defaults for one parameter (answers whether the patient
    had limits of its own); audited."""
    limits_access(user=user, patient_ref=patient_ref)
    threshold_check(parameter=parameter, low=None, high=None)
    with transaction.atomic():
        deleted, _rows = Threshold.objects.filter(patient_ref=patient_ref, parameter=parameter).delete()
        limits_audited(user=user, patient_ref=patient_ref, status=200, parameter=parameter, reset=True)
        transaction.on_commit(caches.changed)
    return bool(deleted)


def _condition(value: float, limits: tuple) -> tuple[str, str, str] | None:
    """(``low``/``high``, priority, FHIR interpretation) when ``value`` is outside ``limits``."""
    low, high, critical_low, critical_high = limits
    if critical_low is not None and value < critical_low:
        return "low", AlarmPriority.HIGH, "LL"
    if low is not None and value < low:
        return "low", AlarmPriority.MEDIUM, "L"
    if critical_high is not None and value > critical_high:
        return "high", AlarmPriority.HIGH, "HH"
    if high is not None and value > high:
        return "high", AlarmPriority.MEDIUM, "H"
    return None


def _open_conditions(device_id: int) -> set[str]:
    entry = _open.get(device_id)
    if entry is not None and time.monotonic() < entry[1]:
        return entry[0]
    conditions = set(
        Alarm.objects.filter(device_id=device_id, acknowledged_at__isnull=True).values_list("condition", flat=True)
    )
    with _lock:
        _open[device_id] = (conditions, expires())
    return conditions


# -- raising ---------------------------------------------------------------------------------------------------
def alarms_evaluate(*, device, patient_ref: str, message) -> list[Alarm]:
    """The alarms ``message`` raises (none while the same condition is still unacknowledged)."""
    raised = []
    limits = limits_of(patient_ref)
    open_now = _open_conditions(device.id)
    for numeric in message.numerics:
        key = numeric.parameter.key
        if key not in limits:
            continue
        found = _condition(numeric.value, limits[key])
        if found is None or f"{key}_{found[0]}" in open_now:
            continue
        side, priority, interpretation = found
        label = numeric.parameter.label
        text = (_("%(label)s low: %(value)s") if side == "low" else _("%(label)s high: %(value)s")) % {
            "label": label,
            "value": f"{numeric.value:g}",
        }
        alarm = alarm_raise(
            device_id=device.id,
            patient_ref=patient_ref,
            kind=AlarmKind.PHYSIOLOGICAL,
            priority=priority,
            condition=f"{key}_{side}",
            message=text,
            value=numeric.value,
            numeric=numeric,
            interpretation=interpretation,
        )
        if alarm is not None:
            raised.append(alarm)
    for condition in message.technical:
        if condition in open_now:
            continue
        text, priority = TECHNICAL[condition]
        alarm = alarm_raise(
            device_id=device.id,
            patient_ref=patient_ref,
            kind=AlarmKind.TECHNICAL,
            priority=priority,
            condition=condition,
            message=str(text),
        )
        if alarm is not None:
            raised.append(alarm)
    return raised


def alarm_raise(
    *,
    device_id: int,
    patient_ref: str,
    kind: str,
    priority: str,
    condition: str,
    message: str,
    value: float | None = None,
    numeric=None,
    interpretation: str = "",
) -> Alarm | None:
    """Record the alarm (None if the same condition is already open), tell the treating team, keep a strip."""
    device = Device.objects.select_related("site").get(pk=device_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(
                device=device,
                patient_ref=patient_ref,
                kind=kind,
                priority=priority,
                condition=condition,
                message=message[:200],
                value=value,
                raised_at=now,
            )
            if numeric is not None:
                alarm.observation_id = fhir.fhir_store(
                    resource=fhir.numeric_observation(
                        parameter=numeric.parameter,
                        value=numeric.value,
                        patient_ref=patient_ref,
                        device_fhir_id=device.fhir_id,
                        at=numeric.at,
                        interpretation=interpretation,
                    ),
                    owner=device.site.code,
                )
            alarm.flag_id = fhir.fhir_store(
                resource=fhir.flag_resource(alarm=alarm, device_fhir_id=device.fhir_id, active=True),
                owner=device.site.code,
            )
            alarm.save(update_fields=["observation_id", "flag_id"])
            _notify(alarm, event="device.alarm", recipients=treating_team(patient_ref))
    except IntegrityError:
        return None  # raised meanwhile by another process
    with _lock:
        _open.setdefault(device_id, (set(), expires()))[0].add(condition)
    frame_publish(patient_ref=patient_ref, frame=alarm_frame(alarm))
    try:
        strips_around_alarm(alarm)
    except Exception:
        logger.exception("strips around alarm %s not kept", alarm.pk)
    return alarm


def alarm_frame(alarm: Alarm) -> dict:
    return {
        "type": "alarm",
        "id": alarm.pk,
        "device": alarm.device.key,
        "kind": alarm.kind,
        "priority": alarm.priority,
        "condition": alarm.condition,
        "message": alarm.message,
        "raised_at": alarm.raised_at.timestamp(),
        "acknowledged": alarm.acknowledged_at is not None,
        "escalated": alarm.escalated_at is not None,
    }


def treating_team(patient_ref: str) -> list:
    """The county doctor, the specialists and experts of the patient's open requests, the rooms' participants:
    those of them who may read the patient."""
    from hub.consultations.models import RoomParticipant
    from hub.referrals.models import Participant, Referral

    closed = ("completed", "cancelled", "rejected", "failed")
    referrals = Referral.objects.filter(patient_ref=patient_ref).exclude(status__in=closed)
    users = {r.requester for r in referrals.select_related("requester")}
    users |= {r.owner for r in referrals.select_related("owner") if r.owner_id}
    users |= {p.user for p in Participant.objects.filter(referral__in=referrals, active=True).select_related("user")}
    users |= {
        p.user
        for p in RoomParticipant.objects.filter(
            room__patient_ref=patient_ref, room__status="open", removed_at__isnull=True
        ).select_related("user")
    }
    return [user for user in users if user is not None and patient_visible(user, patient_ref)]


def _notify(alarm: Alarm, *, event: str, recipients) -> None:
    from hub.notifications.events import notify_on_commit

    title = _("Alarm: %(message)s") % {"message": alarm.message}
    if event.endswith("escalated"):
        title = _("Unacknowledged alarm: %(message)s") % {"message": alarm.message}
    notify_on_commit(
        event=event,
        recipients=recipients,
        title=title,
        body=f"{alarm.device.ward} {alarm.device.bed} ({alarm.device.key})".strip(),
        payload={
            "alarm": {"id": alarm.pk, "priority": alarm.priority, "patient": alarm.patient_ref},
            "url": f"/devices/patients/{alarm.patient_ref.partition('/')[2]}/live/",
        },
    )


# -- acknowledging, escalating, offline ------------------------------------------------------------------------
def alarm_acknowledge(*, alarm_id: int, user) -> Alarm:
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update(of=("self",)).select_related("device__site").filter(pk=alarm_id).first()
        if alarm is None:
            raise NotFoundError(_("No such alarm."))
        treating_check(user, alarm.patient_ref)
        if alarm.acknowledged_at is not None:
            raise ConflictError(_("The alarm was already acknowledged."))
        alarm.acknowledged_at, alarm.acknowledged_by = timezone.now(), user
        owner = alarm.device.site.code
        if alarm.flag_id:
            fhir.fhir_store(
                resource=fhir.flag_resource(alarm=alarm, device_fhir_id=alarm.device.fhir_id, active=False),
                owner=owner,
                fhir_id=alarm.flag_id,
            )
        alarm.detected_issue_id = fhir.fhir_store(
            resource=fhir.acknowledgement_resource(
                alarm=alarm, practitioner_display=user.display_name or user.username
            ),
            owner=owner,
        )
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by", "detected_issue_id"])
    caches.changed()  # the ingest may raise the condition again
    frame_publish(patient_ref=alarm.patient_ref, frame=alarm_frame(alarm))
    return alarm


def alarms_escalate() -> int:
    """Unacknowledged alarms older than ``DEVICES_ESCALATE_SECONDS``: told again, to the site's clinicians too."""
    from hub.accounts.models import User

    due = timezone.now() - timedelta(seconds=settings.DEVICES_ESCALATE_SECONDS)
    count = 0
    for alarm in Alarm.objects.filter(acknowledged_at__isnull=True, escalated_at__isnull=True, raised_at__lte=due):
        with transaction.atomic():
            updated = Alarm.objects.filter(pk=alarm.pk, escalated_at__isnull=True).update(escalated_at=timezone.now())
            if not updated:
                continue
            alarm.refresh_from_db()
            site_clinicians = User.objects.filter(
                site_id=alarm.device.site_id, is_active=True, role__in=("county_doctor", "specialist")
            )
            recipients = [
                u
                for u in {*treating_team(alarm.patient_ref), *site_clinicians}
                if patient_visible(u, alarm.patient_ref)
            ]
            _notify(alarm, event="device.alarm.escalated", recipients=recipients)
        frame_publish(patient_ref=alarm.patient_ref, frame=alarm_frame(alarm))
        count += 1
    return count


def devices_offline_check() -> int:
    """A technical alarm for each attached device silent for ``DEVICES_OFFLINE_SECONDS``."""
    from hub.devices.models import Binding

    silent_since = timezone.now() - timedelta(seconds=settings.DEVICES_OFFLINE_SECONDS)
    count = 0
    for binding in Binding.objects.filter(
        end__isnull=True, device__active=True, start__lte=silent_since
    ).select_related("device"):
        device = binding.device
        if device.last_seen_at is None or device.last_seen_at > silent_since:
            continue  # never sent anything yet ("no data yet" in the registry), or still sending
        text, priority = TECHNICAL["offline"]
        if alarm_raise(
            device_id=device.pk,
            patient_ref=binding.patient_ref,
            kind=AlarmKind.TECHNICAL,
            priority=priority,
            condition="offline",
            message=str(text),
        ):
            count += 1
    return count


def retention_purge() -> int:
    cutoff = timezone.now() - timedelta(days=settings.DEVICES_RETENTION_DAYS)
    deleted, _detail = Summary.objects.filter(minute__lt=cutoff).delete()
    deleted += Strip.objects.filter(start__lt=cutoff, alarm__isnull=True, saved_by__isnull=True).delete()[0]
    from hub.devices.models import Rejection

    deleted += Rejection.objects.filter(received_at__lt=cutoff).delete()[0]
    return deleted


def housekeeping() -> None:
    devices_offline_check()
    alarms_escalate()
    strips_complete()
    retention_purge()
