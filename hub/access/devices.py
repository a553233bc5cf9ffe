"""Who may see a patient's live device data, change their alarm limits, manage a site's devices, and feed them.

- Live data (numerics, waves, alarms, trends, strips) of a patient: whoever may read the patient's records
  (``patients.patient_visible``: the same entitlement as the record itself, so a request, a room's grant or
  break-the-glass opens the monitor too, and closing it closes the monitor).
- Alarm limits and acknowledging alarms: the treating clinicians (county doctors and specialists who may read
  the patient).
- The device registry: a site's administrators for their own site's devices (the platform operator for all).
- Ingest: a site's system (OAuth2 client credentials with a device scope) for its own site's devices; MQTT
  gateways with the site's MQTT credentials, on their own site's topics only.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from federation.auth.scopes import scopes_allow
from fhir_gateway.context import SYSTEM
from hub.access.actors import rule_of_user
from hub.access.constants import ActorKind
from hub.access.patients import CLINICAL_KINDS, patient_visible
from hub.api_errors import ForbiddenError, NotFoundError

DEVICE_SCOPE_TYPES = ("Device", "Observation")  # system/Device.write or system/Observation.write feed devices


def live_visible(user, patient_ref: str) -> bool:
    return patient_visible(user, patient_ref)


def live_check(user, patient_ref: str) -> None:
    """``NotFoundError`` alike for a missing patient and one the user may not see."""
    if not live_visible(user, patient_ref):
        raise NotFoundError(_("No such patient."))


def treating_check(user, patient_ref: str) -> None:
    """May change the patient's alarm limits and acknowledge their alarms."""
    live_check(user, patient_ref)
    if rule_of_user(user).kind not in CLINICAL_KINDS:
        raise ForbiddenError(_("Only the treating clinicians change alarm limits and acknowledge alarms."))


def devices_site(user) -> str | None:
    """The site whose devices ``user`` manages ("" for every site: the platform operator; None: none)."""
    rule = rule_of_user(user)
    if rule.kind == ActorKind.SUPERUSER:
        return ""
    if rule.kind == ActorKind.SITE_ADMIN and rule.site:
        return rule.site
    return None


def devices_manageable(user, queryset):
    """The devices of ``queryset`` that ``user`` manages."""
    site = devices_site(user)
    if site is None:
        return queryset.none()
    return queryset if site == "" else queryset.filter(site__code=site)


def device_manage_check(user, device) -> None:
    """``NotFoundError`` alike for a missing device and another site's."""
    site = devices_site(user)
    if site is None or (site and device.site.code != site):
        raise NotFoundError(_("No such device."))


def ingest_actor_check(actor, site_code: str) -> None:
    """A site system's token may feed its own site's devices, with a device scope."""
    if actor is None or actor.kind != SYSTEM:
        raise ForbiddenError(_("Device data comes from a site's system (OAuth2 client credentials)."))
    if not any(scopes_allow(actor.scopes, t, "create") for t in DEVICE_SCOPE_TYPES):
        raise ForbiddenError(_("The token needs the scope system/Device.write or system/Observation.write."))
    if actor.site != site_code:
        raise NotFoundError(_("No such device."))


def mqtt_topic_allowed(*, username_site: str, topic: str, publish: bool) -> bool:
    """An MQTT client of a site publishes to ``alliance/<its site>/devices/...`` and reads its own NACKs."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "alliance" or parts[1] != username_site or parts[2] != "devices":
        return False
    return parts[-1] in (("vitals", "status") if publish else ("errors",))
