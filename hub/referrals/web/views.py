"""The referral pages: worklist, new request, a request's page and its actions, aggregates for officials.

Thin: each view reads through ``selectors`` or calls one service; a refused action (``DomainError``)
becomes a message on the request's page, never an error page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from federation.identity.resident_id import RESIDENT_ID_SYSTEM
from hub.accounts.constants import Role
from hub.accounts.pins import signing_pin_is_set
from hub.api_errors import DomainError
from hub.referrals import selectors, services
from hub.referrals.constants import (
    OPEN_STATUSES,
    UNACCEPTED_STATUSES,
    Pathway,
    TaskStatus,
    TimeNode,
    TreatmentDecision,
)
from hub.referrals.patient_search import mask_resident_id, patients_search
from hub.referrals.patients import ATTACHABLE
from hub.referrals.services.uploads import MAX_UPLOADS, attachment_file, max_upload_bytes, upload_check, uploads_store
from hub.referrals.web.actions import ACTIONS, HISTORY_LABELS, action_form, actions_allowed, next_step
from hub.referrals.web.audit import attachment_shown, referral_refused, referrals_shown
from hub.referrals.web.forms import CREATE_ERROR_FIELDS, ReferralCreateForm, WorklistFilterForm
from hub.referrals.web.presets import EMERGENCY_PRESETS, opinion_templates, presets
from hub.referrals.web.record_labels import TYPE_WORDS
from hub.referrals.web.routing_reasons import routing_reason
from hub.signatures.services import REASONS as SIGNATURE_REASONS
from hub.signatures.services import opinion_signature_check

CLINICIANS = (Role.COUNTY_DOCTOR, Role.SPECIALIST)
# Buttons of the new request's form that redraw it (search, pick a patient, a preset, the records) without sending.
NOT_YET_SENDING = {"load_records", "preset", "search", "pick"}
PAGE_SIZE = 50
PIN_REFUSALS = {"invalid_pin", "signing_pin_not_set"}  # hub.accounts.pins: shown at the form's PIN field


def _not_for_you(request):
    """Officials and administrators see aggregates, never a patient's request."""
    return render(request, "referrals/forbidden.html", {"statistics": _sees_statistics(request.user)}, status=403)


def _sees_statistics(user) -> bool:
    from hub.access.dashboards import sees_dashboard

    return sees_dashboard(user)


def _referral_or_404(request, referral_id: int):
    referral = selectors.referral_detail(user=request.user, referral_id=referral_id)
    if referral is None:
        referral_refused(request, referral_id, page="detail")
        raise Http404(_("No such referral."))
    return referral


@login_required
def worklist(request):
    if request.user.role not in CLINICIANS:
        return _not_for_you(request)
    filter_form = WorklistFilterForm(request.GET)
    filters = filter_form.filters()
    page = Paginator(selectors.referral_worklist(user=request.user, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    referrals_shown(request, page.object_list, action="search", page="worklist")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": filter_form,
        "filters_active": sum(1 for name, value in filters.items() if value and (name, value) != ("scope", "all")),
        "page": page,
        "cards": [(r, *next_step(user=request.user, referral=r)) for r in page.object_list],
        "query": query.urlencode(),
        "now": timezone.now(),
        "open_statuses": [*OPEN_STATUSES, TaskStatus.DRAFT],
        "unaccepted_statuses": UNACCEPTED_STATUSES,
        "can_create": True,
    }
    if request.headers.get("X-Fragment") == "worklist":  # the live refresh asks for the table only
        return render(request, "referrals/_worklist_table.html", context)
    return render(request, "referrals/worklist.html", context)


def _create(request, form, *, extra: list[str]):
    data = form.cleaned_data
    consent = (
        services.ConsentGiven(method=data["consent_method"], given_by=data["consent_given_by"])
        if data["consent_given"]
        else None
    )
    return services.referral_request(
        requester=request.user,
        target_site_code=data["target_site"],
        named_expert_username=data["named_expert"],
        kind=data["kind"],
        urgency=data["urgency"],
        pathway=data["pathway"],
        study_kind=data["study_kind"],
        patient_ref=data["patient"],
        clinical_question=data["clinical_question"],
        reason=data["reason"],
        target_specialty=data["target_specialty"],
        attachments=form.attachments() + extra,
        consent=consent,
        discharge_summary=data["discharge_summary"],
        time_nodes=form.time_nodes(),
        submit="save_draft" not in request.POST,
    )


@login_required
def referral_new(request):
    if request.user.role not in CLINICIANS:
        return _not_for_you(request)
    source = request.POST if request.method == "POST" else request.GET
    patient = (source.get("pick") or source.get("patient", "")).strip()
    if patient and "/" not in patient:
        patient = f"Patient/{patient}"
    submitting = request.method == "POST" and not (NOT_YET_SENDING & set(request.POST))
    if submitting:
        form = ReferralCreateForm(request.POST, user=request.user)
    else:  # first view, a preset or "show the patient's records": not yet a submission, so no errors
        initial = {key: source.getlist(key) if key == "records" else source.get(key) for key in source}
        initial.pop("patient", None)
        if patient:
            initial["patient"] = patient
        initial |= EMERGENCY_PRESETS.get(source.get("preset", ""), {})
        if request.method == "POST":
            initial["consent_given"] = "consent_given" in request.POST
        form = ReferralCreateForm(initial=initial, user=request.user)
    query = source.get("q", "").strip()
    found = patients_search(user=request.user, text=query) if query else []
    if request.headers.get("X-Fragment") == "patients":  # the live search asks for the results only
        return render(request, "referrals/_patients_found.html", {"found": found, "query": query})
    records = selectors.patient_records_as(user=request.user, patient_ref=patient, types=ATTACHABLE) if patient else []
    form.set_records(records)
    if form.is_bound and form.is_valid():
        try:
            with transaction.atomic():  # files and request together, or neither
                limit = max_upload_bytes() + 1  # enough to tell a file is too large, never more
                files = request.FILES.getlist("files")[: MAX_UPLOADS + 1]
                uploads = [upload_check(name=f.name, data=f.read(limit)) for f in files]
                stored = uploads_store(actor=request.user, patient_ref=form.cleaned_data["patient"], uploads=uploads)
                referral = _create(request, form, extra=stored)
        except DomainError as exc:
            form.add_error(CREATE_ERROR_FIELDS.get(exc.code), exc.message)
        else:
            messages.success(request, _("The request was created."))
            return redirect("referrals-web:detail", referral_id=referral.pk)
    chosen = next((p for p in found if p.reference == patient), None)
    return render(
        request,
        "referrals/new.html",
        {
            "form": form,
            "records_loaded": bool(patient),
            "going_down": request.user.role == Role.SPECIALIST,
            "query": query,
            "found": found,
            "chosen": chosen,
            "presets": presets(),
            "max_upload_mb": max_upload_bytes() // (1024 * 1024),
        },
    )


FILE_TYPES = {"Media", "DocumentReference"}


def _masked(identifier: dict) -> str:
    """A resident ID shows its first 6 and last 4 characters (the records view reveals it on demand)."""
    value = identifier.get("value", "")
    if identifier.get("system", "") in (RESIDENT_ID_SYSTEM, "urn:alliance:resident-id"):
        return mask_resident_id(value)
    return value


def identifier_kind(identifier: dict) -> str:
    """What an identifier is, for people: its type's text, else a name for its system."""
    system = identifier.get("system", "")
    if (identifier.get("type") or {}).get("text"):
        return identifier["type"]["text"]
    if system == RESIDENT_ID_SYSTEM:
        return _("resident ID")
    if system.lower().endswith("mrn"):
        return _("medical record number")
    return system.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def _signature_problem(opinion) -> str:
    """Why a signed opinion's signature does not verify (e.g. its key was revoked since), else ""; opinions signed
    before clinicians' keys (no verifiable signature) are not flagged."""
    result = opinion_signature_check(opinion=opinion)
    return "" if result.valid or result.reason == "not-signed" else str(SIGNATURE_REASONS[result.reason])


def _detail_context(request, referral, *, failed=None):
    """The request's page; ``failed``: an action's bound form whose errors are shown."""
    allowed = actions_allowed(user=request.user, referral=referral)
    action_forms = []
    for action in allowed:
        form = (
            failed[1] if failed and failed[0] is action else action_form(action, user=request.user, referral=referral)
        )
        action_forms.append((action, form))
    if failed and failed[0] not in allowed:
        action_forms.append(failed)
    signed = list(referral.opinions.all())
    for opinion in signed:
        opinion.signature_problem = _signature_problem(opinion)
    opinions = [o for o in signed if o.appends_id is None]
    addenda = {}
    for opinion in signed:
        if opinion.appends_id:
            addenda.setdefault(opinion.appends_id, []).append(opinion)
    times = {row.node: row for row in referral.time_nodes.all()}
    patient = selectors.patient_read_as(user=request.user, patient_ref=referral.patient_ref)
    decisions = {
        t.detail.get("opinion"): TreatmentDecision(t.detail["decision"]).label
        for t in referral.transitions.all()
        if t.action == "complete" and (t.detail or {}).get("decision") in TreatmentDecision.values
    }
    return {
        "referral": referral,
        "patient": patient,
        "identifiers": [
            (_masked(i), identifier_kind(i), i.get("system", "")) for i in (patient or {}).get("identifier", [])
        ],
        "routing": [
            (d, routing_reason(d, site_name=referral.target_site.name)) for d in referral.routing_decisions.all()
        ],
        "attachments": [
            (ref, *ref.split("/", 1), TYPE_WORDS.get(ref.split("/", 1)[0], ""), ref.split("/", 1)[0] in FILE_TYPES)
            for ref in referral.attachments or []
            if "/" in ref
        ],
        "decisions": decisions,
        "opinion_templates": opinion_templates(request.user.department.specialty if request.user.department_id else ""),
        "pin_set": signing_pin_is_set(request.user),
        "history": [(t, HISTORY_LABELS.get(t.action, t.action)) for t in referral.transitions.all()],
        "actions": action_forms,
        "failed_action": failed[0].name if failed else "",
        "opinions": [(o, addenda.get(o.pk, []), decisions.get(o.pk, "")) for o in opinions],
        "time_nodes": [(node, times.get(node)) for node in TimeNode]
        if referral.pathway in (Pathway.CHEST_PAIN, Pathway.STROKE)
        else [(row.node, row) for row in times.values()],
        "intervals": selectors.pathway_intervals(referral=referral),
        "now": timezone.now(),
        "is_open": referral.status in OPEN_STATUSES,
        "unaccepted": referral.status in UNACCEPTED_STATUSES,
    }


@login_required
def referral_detail(request, referral_id: int):
    if request.user.role not in CLINICIANS:
        return _not_for_you(request)
    referral = _referral_or_404(request, referral_id)
    referrals_shown(request, [referral], action="read", page="detail")
    return render(request, "referrals/detail.html", _detail_context(request, referral))


@login_required
@require_POST
def referral_action(request, referral_id: int, action: str):
    if request.user.role not in CLINICIANS:
        return _not_for_you(request)
    referral = _referral_or_404(request, referral_id)
    step = ACTIONS.get(action)
    if step is None:
        raise Http404(_("No such action."))
    form = action_form(step, user=request.user, referral=referral, data=request.POST)
    if not form.is_valid():
        referrals_shown(request, [referral], action="read", page="detail")
        return render(request, "referrals/detail.html", _detail_context(request, referral, failed=(step, form)))
    if step.name == "opinion" and "confirm" not in request.POST:  # first the preview, then the PIN and signing
        referrals_shown(request, [referral], action="read", page="detail")
        context = _detail_context(request, referral) | {"preview": form}
        if form.cleaned_data["decision"]:
            context["preview_decision"] = TreatmentDecision(form.cleaned_data["decision"]).label
        return render(request, "referrals/detail.html", context)
    try:
        step.perform(request.user, referral, form)
    except DomainError as exc:
        if step.name == "opinion":  # e.g. a wrong PIN: the preview again, with what was written
            referrals_shown(request, [referral], action="read", page="detail")
            context = _detail_context(request, referral) | {"preview": form, "preview_error": exc.message}
            return render(request, "referrals/detail.html", context)
        if "pin" in form.fields and exc.code in PIN_REFUSALS:  # the addendum again, with what was written
            form.add_error("pin", exc.message)
            referrals_shown(request, [referral], action="read", page="detail")
            return render(request, "referrals/detail.html", _detail_context(request, referral, failed=(step, form)))
        messages.error(request, exc.message)
    else:
        messages.success(request, step.done)
    return redirect("referrals-web:detail", referral_id=referral.pk)


@login_required
def referral_file(request, referral_id: int, resource_type: str, fhir_id: str):
    """A photo or file attached to a request, to those who may see the request (404 for anyone else)."""
    if request.user.role not in CLINICIANS:
        raise Http404(_("No such file."))
    referral = _referral_or_404(request, referral_id)
    reference = f"{resource_type}/{fhir_id}"
    found = attachment_file(reference=reference) if reference in (referral.attachments or []) else None
    if resource_type not in FILE_TYPES or found is None:
        raise Http404(_("No such file."))
    data, mime, _title = found
    attachment_shown(request, referral=referral, reference=reference)
    response = HttpResponse(data, content_type=mime)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
