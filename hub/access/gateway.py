"""The rules as the FHIR gateway asks them (registered in ``fhir_gateway.hooks`` by ``AccessConfig.ready``).

- ``visibility_of`` (``hooks.search_scopes``): what the actor may see, applied by the gateway to every search,
  count, history, include, chain and ``$everything``, and to every single record before it answers about it.
- ``access_policy`` (``hooks.access_policies``): may the actor do this? Asked before anything is looked up
  (``REQUEST``), once the target of a write is known (``TARGET``, before a precondition or a patch) and with
  the content (``CONTENT``). A refusal is a 403; a record the actor may not see never gets that far (404).
- ``stamp`` (``hooks.write_stampers``): where a record came from is the hub's to say.
"""

from __future__ import annotations

from fhir_gateway.context import CREATE, HISTORY, READ_ACTIONS, REQUEST, SEARCH, TARGET, Actor, Interaction
from fhir_gateway.errors import Forbidden
from fhir_gateway.visibility import Visibility
from hub.access.actors import rule_of
from hub.access.rules import Refused
from hub.access.workflow import signed_opinion_check


def visibility_of(actor: Actor, resource_type: str | None) -> Visibility | None:
    return rule_of(actor).visibility()


def _patients_of(resource: dict | None) -> set[str]:
    """The ``Patient/<id>`` references a record is about (itself, or its subject/patient/beneficiary)."""
    if not resource:
        return set()
    if resource.get("resourceType") == "Patient" and resource.get("id"):
        return {f"Patient/{resource['id']}"}
    found = set()
    for element in ("subject", "patient", "beneficiary"):
        value = resource.get(element)
        if isinstance(value, dict) and str(value.get("reference", "")).startswith("Patient/"):
            found.add(value["reference"])
    return found


def access_policy(interaction: Interaction, resource: dict | None) -> None:
    rule = rule_of(interaction.actor)
    detail = interaction.detail
    resource_type = interaction.resource_type or (resource or {}).get("resourceType")
    try:
        if interaction.stage == REQUEST:
            rule.check_request(
                action=interaction.action,
                resource_type=resource_type,
                types=frozenset(detail.get("types") or ()),
                operation=interaction.operation or "",
            )
            if interaction.action in (SEARCH, HISTORY) and rule.break_glass_grants:
                # A search or history may return a patient opened by breaking the glass: flagged for review.
                detail["break_glass"] = ",".join(str(i) for ids in rule.break_glass_grants.values() for i in ids)
            return
        writing = interaction.action not in READ_ACTIONS and interaction.action not in ("operation", "capabilities")
        if interaction.action == CREATE and detail.get("creating") is False:
            writing = False  # a conditional create answered with the record that matched: a read of it
        if interaction.stage == TARGET:
            signed_opinion_check(
                action=interaction.action,
                resource_type=resource_type or "",
                fhir_id=interaction.fhir_id or "",
                creating=bool(detail.get("creating")),
            )
            rule.check_target(
                action=interaction.action,
                resource_type=resource_type or "",
                fhir_id=interaction.fhir_id or "",
                owner=detail.get("owner", ""),
                creating=bool(detail.get("creating")),
                method=detail.get("method", "") if not detail.get("exists") else "",
                current_source=detail.get("current_source", ""),
            )
            return
        if writing and resource is not None:
            rule.check_content(
                action=interaction.action,
                resource_type=resource_type or "",
                resource=resource,
                owner=detail.get("owner", ""),
            )
        elif not writing and detail.get("owner") != rule.site and rule.break_glass_grants:
            used = [i for ref in _patients_of(resource) for i in rule.break_glass_grants.get(ref, [])]
            if used:
                detail["break_glass"] = ",".join(str(i) for i in used)
    except Refused as refusal:
        raise Forbidden(refusal.message) from None


def stamp(interaction: Interaction, resource: dict) -> None:
    rule_of(interaction.actor).stamp(resource)
