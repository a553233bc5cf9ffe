"""The devices pages: a site's device registry (its administrators: register, attach to a patient, detach,
refused messages) and a patient's live monitor page. Thin: each reads through the rules or calls one service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.access.devices import device_manage_check, devices_manageable, devices_site, live_visible, treating_check
from hub.api_errors import DomainError, NotFoundError
from hub.devices import alarms, selectors, services
from hub.devices.constants import DeviceKind
from hub.devices.models import Device, Rejection


def _site_or_404(user) -> str:
    site = devices_site(user)
    if site is None:
        raise Http404(_("No such page."))
    return site


@login_required
def registry(request):
    site = _site_or_404(request.user)
    if request.method == "POST":
        from federation.sites.models import Site

        if not site:
            messages.error(request, _("Site administrators register their site's devices."))
            return redirect("devices-web:registry")
        try:
            services.device_register(
                site=Site.objects.get(code=site),
                key=request.POST.get("key", "").strip()[:64],
                kind=request.POST.get("kind", DeviceKind.MONITOR),
                manufacturer=request.POST.get("manufacturer", "")[:100],
                model_name=request.POST.get("model", "")[:100],
                serial=request.POST.get("serial", "")[:100],
                ward=request.POST.get("ward", "")[:100],
                bed=request.POST.get("bed", "")[:32],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Device registered."))
        return redirect("devices-web:registry")
    devices = devices_manageable(request.user, Device.objects.select_related("site").prefetch_related("bindings"))
    rows = []
    for device in devices:
        binding = next((b for b in device.bindings.all() if b.end is None), None)
        rows.append(
            {
                "device": device,
                "binding": binding,
                "state": selectors.device_state(device, offline_seconds=settings.DEVICES_OFFLINE_SECONDS),
            }
        )
    return render(request, "devices/registry.html", {"rows": rows, "kinds": DeviceKind.choices, "site": site})


@login_required
@require_POST
def bind(request, device_id: int):
    device = Device.objects.select_related("site").filter(pk=device_id).first()
    if device is None:
        raise Http404(_("No such device."))
    try:
        device_manage_check(request.user, device)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    patient_id = request.POST.get("patient", "").strip().removeprefix("Patient/")
    try:
        if request.POST.get("action") == "unbind":
            services.device_unbind(device=device, user=request.user)
            messages.success(request, _("Device detached."))
        else:
            services.device_bind(device=device, patient_ref=f"Patient/{patient_id}", user=request.user)
            messages.success(request, _("Device attached to the patient."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("devices-web:registry")


@login_required
def rejections(request):
    site = _site_or_404(request.user)
    rows = Rejection.objects.all() if not site else Rejection.objects.filter(site_code=site)
    return render(request, "devices/rejections.html", {"rows": rows.order_by("-received_at")[:200]})


UNITS_SHOWN = {"mm[Hg]": "mmHg", "Cel": "°C", "cm[H2O]": "cmH2O", "1": ""}


def _live_page(request, patient_ref: str, *, errors: dict | None = None, typed: dict | None = None, status=200):
    """The live page with the patient's alarm limits, editable for the treating clinicians (``treating_check``);
    ``errors`` and ``typed``: a refused change's message and values, shown in its row."""
    try:
        treating_check(request.user, patient_ref)
        editable = True
    except DomainError:
        editable = False
    rows = []
    for row in alarms.limits_table(patient_ref):
        key = row["parameter"].key
        low, high = (typed or {}).get(key) or (_text(row["low"]), _text(row["high"]))
        rows.append(
            {
                **row,
                "key": key,
                "unit": UNITS_SHOWN.get(row["parameter"].ucum, row["parameter"].ucum),
                "low_text": low,
                "high_text": high,
                "error": (errors or {}).get(key, ""),
            }
        )
    context = {"patient_ref": patient_ref, "limits": rows, "limits_editable": editable}
    return render(request, "devices/live.html", context, status=status)


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _number(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise DomainError(_("Enter a number, or leave it empty for no limit.")) from exc


@login_required
def live(request, patient_id: str):
    patient_ref = f"Patient/{patient_id}"
    if not live_visible(request.user, patient_ref):
        raise Http404(_("No such patient."))
    return _live_page(request, patient_ref)


@login_required
@require_POST
def limits(request, patient_id: str):
    """A treating clinician changes one parameter's alarm limits (``alarms.threshold_set``, as the API does)."""
    patient_ref = f"Patient/{patient_id}"
    try:
        alarms.limits_access(user=request.user, patient_ref=patient_ref)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    parameter = request.POST.get("parameter", "")[:16]
    if request.POST.get("reset"):
        try:
            alarms.threshold_reset(user=request.user, patient_ref=patient_ref, parameter=parameter)
        except DomainError as exc:
            return _live_page(request, patient_ref, errors={parameter: exc.message}, status=400)
        messages.success(request, _("The age group's default limits apply again."))
        return redirect(reverse("devices-web:live", args=[patient_id]) + "#dv-limits")
    typed = (request.POST.get("low", "")[:32], request.POST.get("high", "")[:32])
    try:
        alarms.threshold_set(
            user=request.user,
            patient_ref=patient_ref,
            parameter=parameter,
            low=_number(typed[0]),
            high=_number(typed[1]),
        )
    except DomainError as exc:
        return _live_page(request, patient_ref, errors={parameter: exc.message}, typed={parameter: typed}, status=400)
    messages.success(request, _("Alarm limits saved."))
    return redirect(reverse("devices-web:live", args=[patient_id]) + "#dv-limits")
