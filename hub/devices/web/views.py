"""The devices pages: a site's device registry (its administrators: register, attach to a patient, detach,
refused messages) and a patient's live monitor page. Thin: each reads through the rules or calls one service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.access.devices import device_manage_check, devices_manageable, devices_site, live_visible
from hub.api_errors import DomainError
from hub.devices import selectors, services
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


@login_required
def live(request, patient_id: str):
    patient_ref = f"Patient/{patient_id}"
    if not live_visible(request.user, patient_ref):
        raise Http404(_("No such patient."))
    return render(request, "devices/live.html", {"patient_ref": patient_ref})
