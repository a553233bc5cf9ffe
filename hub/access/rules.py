"""One rule set per kind of actor: what it may see (a ``Visibility``: the database filter of every search and
the test of every single record) and what it may do.

- County doctor, specialist: see their site's records, the patients shared with them (a request that reaches
  them, an open grant, break-the-glass) with the same person's records at other sites, and the directory;
  write their site's clinical records.
- Site administrator: sees their site's records and audit events, and the directory; writes their site's
  directory records, value sets and forms (under canonical URLs no one else publishes).
- Health official: sees the directory only; writes nothing.
- Hub auditor (``access.audit_all``): sees the directory and the whole audit trail; writes nothing.
- Platform operator (superuser): sees everything; writes anything but the workflow's records and the audit trail.
- Site system: sees its site's records and the directory, within its SMART scopes for every type a request
  touches; writes its site's records within its scopes.
- Sync engine: sees and writes its site's records.
- The hub's workflow: sees and writes everything (a signed opinion never changes).

Golden records of the master patient index are owned by ``federation.identity.services.GOLDEN_OWNER``: only
the platform operator and the workflow see them. Records a user or a site system writes never carry where
they came from (``meta.source``, the source-site tag): those are the hub's own (``stamp``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.utils.translation import gettext as _

from federation.auth.scopes import scoped_types, scopes_allow
from federation.sync.records import SOURCE_SITE_SYSTEM, site_tag_add
from fhir_gateway.context import DELETE, OPERATION, READ_ACTIONS, WRITE_ACTIONS
from fhir_gateway.visibility import Visibility
from hub.access.constants import (
    AUDIT_TYPES,
    CONFORMANCE_TYPES,
    DIRECTORY_TYPES,
    KNOWLEDGE_TYPES,
    OPEN_TYPES,
    WORKFLOW_SOURCE,
    ActorKind,
)

# FHIR operations that read (the record view and $match are reads of the patients they answer with).
READ_OPERATIONS = frozenset({"$everything", "$validate", "$match", "$record-view"})


class Refused(Exception):
    """An action the rule does not allow; ``message`` says why (shown to the caller)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Rule:
    """The rule set of one actor. ``site``: the site it speaks for ("" for none)."""

    kind: str
    site: str = ""
    user: object | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    # -- what it sees ---------------------------------------------------------------------------------------
    def visibility(self) -> Visibility | None:
        """The records this actor may see (None: every record)."""
        kind = self.kind
        if kind in (ActorKind.SUPERUSER, ActorKind.WORKFLOW):
            return None
        if kind in (ActorKind.COUNTY_DOCTOR, ActorKind.SPECIALIST):
            return Visibility(
                owners={self.site},
                patients=self.shared_patient_ids,
                patient_shared=self.shares_patient,
                excluded_types=AUDIT_TYPES,
                open_types=OPEN_TYPES,
            )
        if kind == ActorKind.SITE_ADMIN:
            return Visibility(owners={self.site}, open_types=OPEN_TYPES)
        if kind == ActorKind.AUDITOR:
            return Visibility(owners=None, types=OPEN_TYPES | AUDIT_TYPES)
        if kind == ActorKind.SITE_SYSTEM:
            types = scoped_types(self.scopes, ("read", "search"))
            return Visibility(owners={self.site}, types=types, excluded_types=AUDIT_TYPES, open_types=OPEN_TYPES)
        if kind == ActorKind.SYNC:
            return Visibility(owners={self.site}, excluded_types=AUDIT_TYPES, open_types=OPEN_TYPES)
        return Visibility(owners=(), types=OPEN_TYPES, open_types=OPEN_TYPES)  # officials, anyone else

    def shared_patient_ids(self) -> frozenset[str]:
        """Ids of the Patients shared with this clinician (requests, grants), with the same people elsewhere."""
        from hub.access.grants import patient_refs_granted
        from hub.access.referrals import patient_refs_shared_with

        refs = patient_refs_granted(self.user) | patient_refs_shared_with(self.user)
        return frozenset(ref.split("/", 1)[1] for ref in refs if ref.startswith("Patient/"))

    def shares_patient(self, fhir_id: str) -> bool:
        """Whether ``fhir_id`` is in ``shared_patient_ids``, asked about that one Patient: a grant, or else a
        request, sharing it or the same person's Patient at any site (one statement each)."""
        from federation.identity.selectors import same_people_refs
        from hub.access.grants import grants_any
        from hub.access.referrals import shares_any

        ref, same = f"Patient/{fhir_id}", same_people_refs(patient_id=fhir_id)
        return grants_any(self.user, ref, same) or shares_any(self.user, ref, same)

    @cached_property
    def break_glass_grants(self) -> dict[str, list[int]]:
        """``{Patient/<id>: [grant ids]}`` this user holds open now by breaking the glass."""
        if self.kind not in (ActorKind.COUNTY_DOCTOR, ActorKind.SPECIALIST):
            return {}
        from hub.access.grants import break_glass_patients

        return break_glass_patients(self.user)

    def audit_sites(self) -> frozenset[str] | None:
        """Whose patients' audit events this actor reads (``/fhir/AuditEvent``, ``/api/audit/events``): None for
        all of them (hub auditor, platform operator), its own site's for a site administrator, none otherwise."""
        if self.kind in (ActorKind.AUDITOR, ActorKind.SUPERUSER):
            return None
        if self.kind == ActorKind.SITE_ADMIN and self.site:
            return frozenset({self.site})
        return frozenset()

    def reads_type(self, resource_type: str | None) -> bool:
        visibility = self.visibility()
        if visibility is None or resource_type is None:
            return True
        return visibility.type_allowed(resource_type) and (
            resource_type in visibility.open_types or visibility.owners is None or bool(visibility.owners)
        )

    # -- what it may do -------------------------------------------------------------------------------------
    def check_request(self, *, action: str, resource_type: str | None, types: frozenset[str], operation: str) -> None:
        """Before anything is looked up: may this actor do ``action`` on these types at all?"""
        if action in ("transaction", "batch", "capabilities"):
            return  # each entry of a Bundle is judged as its own interaction
        reading = action in READ_ACTIONS or (action == OPERATION and operation in READ_OPERATIONS)
        named = set(types) | ({resource_type} if resource_type else set())
        if self.kind == ActorKind.SITE_SYSTEM:
            if operation == "$record-view":
                raise Refused(_("The record view is for the hub's clinicians."))
            self._check_scopes(action, named, operation)
        if reading:
            if self.kind in (ActorKind.OFFICIAL, ActorKind.NOBODY) and named - OPEN_TYPES:
                raise Refused(_("Health officials see aggregates and the directory, not patient records."))
            unreadable = sorted(t for t in named if not self.reads_type(t))
            if unreadable:
                raise Refused(_("You may not read %(types)s records.") % {"types": ", ".join(unreadable)})
            return
        if action not in WRITE_ACTIONS:
            raise Refused(_("This operation is not allowed."))
        for resource_type in named:
            self._check_writable_type(resource_type)

    def _check_scopes(self, action: str, types: set[str], operation: str) -> None:
        check = "read" if action == OPERATION else action
        for resource_type in sorted(types):
            if not scopes_allow(self.scopes, resource_type, check):
                raise Refused(
                    _("The scopes granted (%(scopes)s) do not allow %(action)s on %(type)s.")
                    % {
                        "scopes": " ".join(sorted(self.scopes)) or "-",
                        "action": operation or action,
                        "type": resource_type,
                    }
                )

    def _check_writable_type(self, resource_type: str) -> None:
        kind = self.kind
        if resource_type in AUDIT_TYPES and kind != ActorKind.WORKFLOW:
            raise Refused(_("The audit trail is written by the hub alone."))
        if kind in (ActorKind.SUPERUSER, ActorKind.WORKFLOW):
            return
        if resource_type in CONFORMANCE_TYPES:
            raise Refused(_("Only the platform operator publishes %(type)s records.") % {"type": resource_type})
        if kind == ActorKind.SITE_ADMIN:
            if resource_type not in DIRECTORY_TYPES | KNOWLEDGE_TYPES:
                raise Refused(_("Site administrators do not change clinical records."))
            return
        if kind in (ActorKind.COUNTY_DOCTOR, ActorKind.SPECIALIST):
            if resource_type in OPEN_TYPES:
                raise Refused(_("Only site administrators change directory records."))
            return
        if kind in (ActorKind.SITE_SYSTEM, ActorKind.SYNC):
            return
        raise Refused(_("You may not change records."))

    def check_target(
        self,
        *,
        action: str,
        resource_type: str,
        fhir_id: str,
        owner: str,
        creating: bool,
        method: str,
        current_source: str,
    ) -> None:
        """May this actor write to this record (``creating``: make it, under ``owner``)?"""
        if self.kind == ActorKind.WORKFLOW:
            return
        if action == DELETE and creating:
            return  # nothing to delete: nothing is done
        if not creating and current_source == WORKFLOW_SOURCE:
            raise Refused(_("Only the referral workflow changes its records; act on the request instead."))
        if self.kind == ActorKind.SUPERUSER:
            return
        if owner != self.site or not self.site:
            raise Refused(_("This record belongs to another site."))
        if creating and method == "PUT" and self.kind in (ActorKind.SITE_SYSTEM, *USER_KINDS):
            # A client-chosen id only in the caller's own namespace: other sites' records (and the ids their sync
            # will write, ``<site>-<id>``) cannot be taken, and the answer is the same whether they exist or not.
            if not fhir_id.startswith(f"{self.site}-"):
                raise Refused(
                    _("Records are created with POST, or with PUT under an id beginning with %(prefix)s.")
                    % {"prefix": f"{self.site}-"}
                )

    def check_content(self, *, action: str, resource_type: str, resource: dict, owner: str) -> None:
        """The content about to be written (after the stampers of earlier writes, before this one's)."""
        if self.kind in (ActorKind.WORKFLOW, ActorKind.SYNC):
            return
        if resource_type in CANONICAL_TYPES_CHECKED and isinstance(resource.get("url"), str):
            from fhir_gateway.public import canonical_owners

            others = canonical_owners(resource_type=resource_type, url=resource["url"]) - {owner}
            if others:
                raise Refused(
                    _("%(url)s is published by someone else; choose your own canonical URL.") % {"url": resource["url"]}
                )

    # -- where records come from ----------------------------------------------------------------------------
    def stamp(self, resource: dict) -> None:
        """Where a record came from is the hub's to say: users' claims are dropped, a site's feed is stamped."""
        meta = resource.setdefault("meta", {})
        if self.kind in USER_KINDS:
            meta.pop("source", None)
            tags = [
                t for t in meta.get("tag") or [] if not (isinstance(t, dict) and t.get("system") == SOURCE_SITE_SYSTEM)
            ]
            if tags:
                meta["tag"] = tags
            else:
                meta.pop("tag", None)
            if not meta:
                resource.pop("meta")
            return
        if self.kind in (ActorKind.SITE_SYSTEM, ActorKind.SYNC) and self.site:
            prefix = f"urn:alliance:site:{self.site}"
            if self.kind == ActorKind.SITE_SYSTEM and not str(meta.get("source", "")).startswith(prefix):
                meta["source"] = prefix
            site_tag_add(resource, self.site)


USER_KINDS = frozenset(
    {
        ActorKind.COUNTY_DOCTOR,
        ActorKind.SPECIALIST,
        ActorKind.SITE_ADMIN,
        ActorKind.OFFICIAL,
        ActorKind.AUDITOR,
        ActorKind.SUPERUSER,
        ActorKind.NOBODY,
    }
)
CANONICAL_TYPES_CHECKED = KNOWLEDGE_TYPES | CONFORMANCE_TYPES
