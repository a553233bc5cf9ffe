"""The device registry: register a device (FHIR Device at a Location), bind it to a patient for a period
(a DeviceUseStatement), end the binding; a site's MQTT credentials."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.access.devices import device_manage_check
from hub.access.patients import patient_visible
from hub.api_errors import ConflictError, DomainError
from hub.devices import caches, fhir
from hub.devices.constants import DeviceKind
from hub.devices.models import Binding, Device, SiteMqttCredential


@transaction.atomic
def device_register(
    *,
    site,
    key: str,
    kind: str = DeviceKind.MONITOR,
    manufacturer: str = "",
    model_name: str = "",
    serial: str = "",
    ward: str = "",
    bed: str = "",
) -> Device:
    if kind not in DeviceKind.values:
        raise DomainError(_("Unknown kind of device."))
    if Device.objects.filter(site=site, key=key).exists():
        raise ConflictError(_("This site already has a device %(key)s.") % {"key": key})
    device = Device(
        site=site,
        key=key,
        kind=kind,
        manufacturer=manufacturer,
        model_name=model_name,
        serial=serial,
        ward=ward,
        bed=bed,
    )
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError as exc:
        raise ConflictError(_("This site already has a device %(key)s.") % {"key": key}) from exc
    device.location_fhir_id = fhir.fhir_store(resource=fhir.location_resource(device), owner=site.code)
    device.fhir_id = fhir.fhir_store(resource=fhir.device_resource(device), owner=site.code)
    device.save(update_fields=["location_fhir_id", "fhir_id"])
    return device


@transaction.atomic
def device_bind(*, device: Device, patient_ref: str, user, start=None) -> Binding:
    """Attach ``device`` to a patient from ``start`` (now), ending its open binding; the admin must see them."""
    device_manage_check(user, device)
    if not patient_visible(user, patient_ref):
        raise DomainError(_("No such patient at this site."), code="unknown_patient")
    device = Device.objects.select_for_update().get(pk=device.pk)
    now = timezone.now()
    start = start or now
    for open_binding in Binding.objects.filter(device=device, end__isnull=True):
        _binding_end(open_binding, at=start)
    binding = Binding.objects.create(device=device, patient_ref=patient_ref, start=start, bound_by=user)
    binding.fhir_id = fhir.fhir_store(resource=fhir.use_statement_resource(binding), owner=device.site.code)
    binding.save(update_fields=["fhir_id"])
    device_patient_sync(device=device, patient_ref=patient_ref)
    transaction.on_commit(caches.changed)
    return binding


@transaction.atomic
def device_unbind(*, device: Device, user) -> None:
    device_manage_check(user, device)
    device = Device.objects.select_for_update().get(pk=device.pk)
    bindings = list(Binding.objects.filter(device=device, end__isnull=True))
    if not bindings:
        raise DomainError(_("The device is not attached to a patient."), code="not_bound")
    for binding in bindings:
        _binding_end(binding, at=timezone.now())
    device_patient_sync(device=device, patient_ref="")
    transaction.on_commit(caches.changed)


def _binding_end(binding: Binding, *, at) -> None:
    binding.end = max(at, binding.start)
    binding.save(update_fields=["end"])
    if binding.fhir_id:
        fhir.fhir_store(
            resource=fhir.use_statement_resource(binding), owner=binding.device.site.code, fhir_id=binding.fhir_id
        )


def device_patient_sync(*, device: Device, patient_ref: str) -> None:
    """``Device.patient``: whom the device is attached to now."""
    resource = fhir.device_resource(device)
    if patient_ref:
        resource["patient"] = {"reference": patient_ref}
    fhir.fhir_store(resource=resource, owner=device.site.code, fhir_id=device.fhir_id)


def mqtt_credential_set(*, site, username: str, password: str) -> SiteMqttCredential:
    credential, _created = SiteMqttCredential.objects.update_or_create(
        site=site, defaults={"username": username, "password_hash": make_password(password)}
    )
    return credential


def mqtt_credential_check(*, username: str, password: str) -> str | None:
    """The site code of a gateway's MQTT login, or None."""
    credential = SiteMqttCredential.objects.select_related("site").filter(username=username).first()
    if credential is None or not credential.site.active or not check_password(password, credential.password_hash):
        return None
    return credential.site.code


@transaction.atomic
def device_bind_internal(*, device: Device, patient_ref: str) -> Binding:
    """The hub's own binding (the demo, the simulator): no user, no access check."""
    device = Device.objects.select_for_update().select_related("site").get(pk=device.pk)
    now = timezone.now()
    for open_binding in Binding.objects.filter(device=device, end__isnull=True):
        _binding_end(open_binding, at=now)
    binding = Binding.objects.create(device=device, patient_ref=patient_ref, start=now)
    binding.fhir_id = fhir.fhir_store(resource=fhir.use_statement_resource(binding), owner=device.site.code)
    binding.save(update_fields=["fhir_id"])
    device_patient_sync(device=device, patient_ref=patient_ref)
    transaction.on_commit(caches.changed)
    return binding


def mosquitto_password_line(*, username: str, password: str, salt: bytes | None = None) -> str:
    """A line of Mosquitto's password file (``$7$``: PBKDF2-SHA512, 101 iterations, as mosquitto_passwd writes)."""
    import base64
    import hashlib
    import os

    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return f"{username}:$7$101${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_acl_lines(*, username: str, site_code: str) -> str:
    """The ACL of a site's gateway: its own site's device topics only (deploy/mosquitto.acl)."""
    return (
        f"user {username}\n"
        f"topic write alliance/{site_code}/devices/+/vitals\n"
        f"topic read alliance/{site_code}/devices/+/errors\n"
    )
