"""Who may see and change which records through the FHIR gateway (for the hub's own users).

- A county doctor reads and writes the records their own site owns.
- A site administrator reads their own site's records.
- A specialist reads and writes the general hospital's records, and reads the records of the
  patients whose requests were routed to them or their department.
- A health official sees no patient records at all, only aggregates and the directory.
- A superuser (the alliance's platform operator) sees everything; every access is audited.
Directory resources (sites, practitioners, endpoints, ...) are readable by every signed-in user.
Other actors (site systems, sync, the hub's own workflow) are governed elsewhere.
"""

from __future__ import annotations

import time

from fhir_gateway.context import USER, Actor, Interaction
from fhir_gateway.errors import Forbidden
from hub.accounts.constants import Role

DIRECTORY_TYPES = frozenset(
    {
        "Organization",
        "Location",
        "Practitioner",
        "PractitionerRole",
        "HealthcareService",
        "Endpoint",
        "CapabilityStatement",
        "StructureDefinition",
        "SearchParameter",
        "ValueSet",
        "CodeSystem",
        "OperationDefinition",
        "NamingSystem",
        "Questionnaire",
        "PlanDefinition",
        "ActivityDefinition",
    }
)
READ_ACTIONS = frozenset({"read", "vread", "search", "history", "operation", "validate"})


# actor id -> (user or None, monotonic time read); per process, re-read every 30 s, cleared on save.
_USERS: dict[str, tuple[object, float]] = {}


def _user(actor: Actor):
    from hub.accounts.models import User

    entry = _USERS.get(actor.id)
    if entry is None or time.monotonic() - entry[1] > 30:
        user = User.objects.select_related("site").filter(pk=actor.id, is_active=True).first()
        entry = (user, time.monotonic())
        _USERS[actor.id] = entry
    return entry[0]


def forget_user(sender, instance, **kwargs) -> None:
    _USERS.pop(str(instance.pk), None)


def shared_patient_refs(user) -> set[str]:
    """Patients whose requests reach this user (from the referral workflow, when installed)."""
    try:
        from hub.referrals.selectors import patient_refs_shared_with
    except ImportError:
        return set()
    return set(patient_refs_shared_with(user))


def _patient_ref(resource: dict | None) -> str:
    from hub.audit.recorder import patient_of

    if not resource:
        return ""
    return patient_of(resource.get("resourceType"), resource.get("id"), resource)


def _owner(interaction: Interaction, resource_type: str | None) -> str | None:
    """The site owning the record: stated by the gateway, else looked up; None for a new record."""
    if "owner" in interaction.detail:
        return interaction.detail["owner"]
    if not (resource_type and interaction.fhir_id):
        return None
    from fhir_gateway.models import Resource

    return (
        Resource.objects.filter(resource_type=resource_type, fhir_id=interaction.fhir_id)
        .values_list("owner", flat=True)
        .first()
    )


def user_access_policy(interaction: Interaction, resource: dict | None) -> None:
    actor = interaction.actor
    if actor.kind != USER:
        return
    user = _user(actor)
    if user is None:
        raise Forbidden("Unknown or inactive user")
    if user.is_superuser:
        return
    resource_type = interaction.resource_type or (resource or {}).get("resourceType")
    reading = interaction.action in READ_ACTIONS
    if resource_type in DIRECTORY_TYPES:
        if reading or user.role == Role.SITE_ADMIN:
            return
        raise Forbidden("Only site administrators change directory records")
    if user.role == Role.OFFICIAL:
        raise Forbidden("Health officials see aggregates, not patient records")
    if not user.site_id:
        raise Forbidden("Users without a site see no patient records")
    if user.role == Role.SITE_ADMIN and not reading:
        raise Forbidden("Site administrators do not change clinical records")
    if interaction.action in {"search", "history", "transaction", "batch"} and resource is None:
        return  # scoped per owner by user_search_scope / per entry
    owner = _owner(interaction, resource_type)
    if owner in (None, "", user.site.code):
        return
    if reading and user.role in (Role.SPECIALIST, Role.COUNTY_DOCTOR):
        patient = _patient_ref(resource)
        if user.role == Role.SPECIALIST and patient in shared_patient_refs(user):
            return
        from hub.access.grants import patient_refs_granted

        if patient and patient in patient_refs_granted(user):
            return
    raise Forbidden("This record belongs to another site")


def user_search_scope(actor: Actor, resource_type: str | None) -> set[str] | None:
    if actor.kind != USER:
        return None
    user = _user(actor)
    if user is None:
        return set()
    if user.is_superuser or resource_type in DIRECTORY_TYPES:
        return None
    if user.role == Role.OFFICIAL or not user.site_id:
        return set()
    return {user.site.code}
