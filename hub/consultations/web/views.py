"""The room's pages: the live room (phone first), one record shown in it, and the history after the end."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.accounts.pins import signing_pin_is_set
from hub.api_errors import DomainError
from hub.consultations import media, selectors, services
from hub.consultations.audit import room_audited
from hub.consultations.constants import DecisionKind, RoomStatus
from hub.consultations.services.log import record_read_as
from hub.referrals.selectors import patient_records_as

# Include points for the other apps' partials: shown when the app that provides them is installed.
RECORD_PARTIAL = "records/_record.html"  # hub/records: the readable record of the patient across sites
LIVE_VITALS_PARTIAL = "devices/_live_vitals.html"  # hub/devices: the bedside monitor's live vitals


def js_strings() -> dict[str, str]:
    """The words room.js shows, in the page's language."""
    return {
        "link_connecting": _("Connecting…"),
        "link_connected": _("Connected"),
        "link_reconnecting": _("Reconnecting…"),
        "older_in_history": _("Older messages are in the room's history."),
        "presented": _("presented %(ref)s"),
        "stopped_presenting": _("stopped presenting"),
        "presented_by": _("Presented by %(name)s"),
        "snapshot_taken": _("took an ultrasound snapshot"),
        "snapshot_saved": _("Snapshot saved to the patient's record."),
        "snapshot": _("Snapshot"),
        "decision_diagnosis": _("Diagnosis"),
        "decision_decision": _("Treatment decision"),
        "decision_note": _("Note"),
        "decision_opinion": _("Opinion signed"),
        "joined": _("joined"),
        "left": _("left"),
        "admitted": _("%(name)s was admitted"),
        "removed": _("%(name)s was removed"),
        "opened": _("opened the room"),
        "ended": _("ended the consultation"),
        "failed": _("That did not work; try again."),
        "you": _("You"),
        "present": _("Present"),
        "reconnecting": _("reconnecting"),
        "muted": _("muted"),
        "speaking_on": _("microphone on"),
        "device_phone": _("phone"),
        "device_pc": _("computer"),
        "device_tablet": _("tablet"),
        "remove": _("Remove"),
        "confirm_remove": _("Remove %(name)s from the room? Their access to the record ends now."),
        "confirm_end": _("End the consultation for everyone?"),
        "confirm_end_signed": _("End the consultation for everyone and sign the opinion?"),
        "pin_needed": _("Signing the opinion needs your six-digit signing PIN."),
        "source_ultrasound": _("Ultrasound"),
        "source_screen": _("Screen"),
        "camera": _("Camera"),
        "no_media": _("The camera or microphone cannot be used: allow them in the browser's settings."),
        "no_screen": _("This browser cannot share its screen."),
        "replaced": _("The room is open in another window of this browser."),
        "open_in_browser": _(
            "This in-app browser cannot send or receive video. Tap ··· at the top right and choose "
            "“Open in browser”, then join again."
        ),
    }


def partial_available(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def _room_or_404(request, room_id: int, **kwargs):
    try:
        return selectors.room_for_participant(user=request.user, room_id=room_id, **kwargs)
    except DomainError as exc:
        raise Http404(exc.message) from exc


@login_required
@require_POST
def room_open(request, referral_id: int):
    """The request page's button: open the room (or the open one) and go in."""
    try:
        room = services.room_open(referral_id=referral_id, actor=request.user)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
        return redirect("referrals-web:detail", referral_id=referral_id)
    return redirect("consultations-web:room", room_id=room.pk)


def _records(request, room) -> list[dict]:
    # patient_records_as (the user's own search) reaches only their site's records; the room's list is every
    # site's records of the patient, for a participant who sees the patient (hub.access), audited as theirs.
    found = {
        f"{r['resourceType']}/{r['id']}": r
        for r in patient_records_as(user=request.user, patient_ref=room.patient_ref, types=selectors.RECORD_TYPES)
    }
    for resource in selectors.room_records(room=room, user=request.user):
        found.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
    rows = [
        {"ref": ref, "title": selectors.record_title(resource), "resource": resource} for ref, resource in found.items()
    ]
    rows.sort(key=lambda row: row["resource"].get("meta", {}).get("lastUpdated", ""), reverse=True)
    return rows


@login_required
def room_page(request, room_id: int):
    try:  # whoever may see the request is admitted on entering (an expert invited to it, the routed team)
        services.room_enter(room_id=room_id, user=request.user)
    except DomainError:
        pass  # not entitled, or the room ended: the check below answers
    room, participant = _room_or_404(request, room_id)
    if room.status != RoomStatus.OPEN:
        return redirect("consultations-web:history", room_id=room.pk)
    room_audited(user=request.user, room=room, action="read", what="page")
    context = {
        "room": room,
        "referral": room.referral,
        "participant": participant,
        "host": participant.role in ("owner", "requester"),
        "is_owner": room.referral.owner_id == request.user.pk,
        "pin_set": signing_pin_is_set(request.user),
        "records": _records(request, room),
        "record_partial": RECORD_PARTIAL if partial_available(RECORD_PARTIAL) else "",
        "live_vitals_partial": LIVE_VITALS_PARTIAL if partial_available(LIVE_VITALS_PARTIAL) else "",
        "decisions": DecisionKind.choices,
        "invitees": _invitees(room) if participant.role == "owner" else [],
        "strings": js_strings(),
        "sfu": media.sfu_server(),  # the SFU's client is loaded where a room may move to it
    }
    return render(request, "consultations/room.html", context)


def _invitees(room):
    from hub.referrals.selectors import referral_invitees

    taking_part = room.participants.filter(removed_at__isnull=True).values("user")
    return referral_invitees(referral=room.referral).exclude(pk__in=taking_part)[:200]


@login_required
def record_fragment(request, room_id: int, resource_type: str, fhir_id: str):
    """One record as the room shows it when presented (an image with its annotations, or its text)."""
    room, _participant = _room_or_404(request, room_id)
    try:
        resource = record_read_as(room=room, user=request.user, reference=f"{resource_type}/{fhir_id}")
    except DomainError as exc:
        raise Http404(exc.message) from exc
    image = ""
    if resource_type == "Media" and str((resource.get("content") or {}).get("contentType", "")).startswith("image/"):
        from django.urls import reverse

        image = reverse("room-media", kwargs={"room_id": room.pk, "media_id": fhir_id})
    context = {
        "resource": resource,
        "title": selectors.record_title(resource),
        "image": image,
        "ref": f"{resource_type}/{fhir_id}",
    }
    return render(request, "consultations/_record_item.html", context)


@login_required
def room_history(request, room_id: int):
    """The room's chat and timeline, readable after it ended."""
    room, _participant = _room_or_404(request, room_id)
    room_audited(user=request.user, room=room, action="read", what="history")
    return render(
        request,
        "consultations/history.html",
        {"room": room, "referral": room.referral, "timeline": selectors.room_timeline(room=room)},
    )
