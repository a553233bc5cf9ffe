"""Identity decisions: index site Patients, publish golden Patients, link, unlink, merge, and undo.

Every manual decision is a ``LinkEvent`` that ``link_event_revert`` can undo. Golden records of people
known at two sites or more are published to the gateway as Patients whose ``link`` lists each site's Patient
(http://hl7.org/fhir/R4/patient-definitions.html#Patient.link), after the decision has committed.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from federation.identity.features import patient_features
from federation.identity.matching import LinkItem, records_link
from federation.identity.models import (
    GoldenRecord,
    LinkAction,
    LinkEvent,
    LinkMethod,
    MatchReview,
    MpiRecord,
    ReviewStatus,
)

GOLDEN_TAG = {"system": "https://alliance.example/fhir/CodeSystem/mpi", "code": "golden"}
# The owner of golden Patients in the gateway: no site, so no site's users see them (``hub.access.rules``).
GOLDEN_OWNER = "mpi:golden"  # not a site code (those are slugs)


class IdentityError(Exception):
    """A refused identity decision (the API turns it into a 4xx)."""


def goldens_publish_later(golden_ids: set[int]) -> None:
    if not golden_ids:
        return
    from federation.tasks import goldens_publish

    ids = sorted(golden_ids)
    transaction.on_commit(lambda: goldens_publish.delay(ids))


def patients_index(*, site: str, patients: list[dict]) -> None:
    """Add or refresh site Patients (as stored at the hub) in the master patient index."""
    if not patients:
        return
    items = [LinkItem(site_code=site, patient_id=p["id"], features=patient_features(p)) for p in patients]
    report = records_link(items=items)
    goldens_publish_later(report.golden_ids)


def golden_resource(golden: GoldenRecord, *, records: list[MpiRecord] | None = None, best: dict | None = None) -> dict:
    """The golden Patient: identity from the most recently updated site record, links to all of them."""
    if records is None:
        records = list(golden.records.order_by("-updated_at"))
    if best is None and records:
        from fhir_gateway.public import contents_of

        best = contents_of(resource_type="Patient", fhir_ids=[records[0].patient_id]).get(records[0].patient_id)
    patient: dict = {"resourceType": "Patient", "id": golden.fhir_id, "active": golden.active and bool(records)}
    for key in ("identifier", "name", "telecom", "gender", "birthDate", "address"):
        if best and key in best:
            patient[key] = best[key]
    patient["identifier"] = [i for i in patient.get("identifier", []) if i.get("use") == "official"]
    if not patient["identifier"]:
        del patient["identifier"]
    links = [{"other": {"reference": f"Patient/{r.patient_id}"}, "type": "seealso"} for r in records]
    if golden.merged_into_id:
        links.append({"other": {"reference": f"Patient/{golden.merged_into.fhir_id}"}, "type": "replaced-by"})
    if links:
        patient["link"] = links
    patient["meta"] = {"tag": [GOLDEN_TAG]}
    return patient


def goldens_publish(*, golden_ids: list[int]) -> int:
    """Write the golden Patients of ``golden_ids`` to the gateway (owned by ``GOLDEN_OWNER``), in one transaction.

    A golden Patient is published once it links two site Patients, and kept up to date from then on.
    """
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL, Actor
    from fhir_gateway.public import contents_of, known_ids

    goldens = list(GoldenRecord.objects.filter(pk__in=golden_ids).select_related("merged_into"))
    records: dict[int, list[MpiRecord]] = {g.pk: [] for g in goldens}
    for record in MpiRecord.objects.filter(golden_id__in=records).order_by("-updated_at"):
        records[record.golden_id].append(record)
    newest = [rs[0].patient_id for rs in records.values() if rs]
    contents = contents_of(resource_type="Patient", fhir_ids=newest)
    published = known_ids(resource_type="Patient", fhir_ids=[g.fhir_id for g in goldens])
    entries = []
    for golden in goldens:
        mine = records[golden.pk]
        if len(mine) < 2 and golden.fhir_id not in published and not golden.merged_into_id:
            continue  # a person known at one site only: their site Patient says it all (``$match`` still finds them)
        resource = golden_resource(golden, records=mine, best=contents.get(mine[0].patient_id) if mine else None)
        entries.append({"resource": resource, "request": {"method": "PUT", "url": f"Patient/{golden.fhir_id}"}})
    if entries:
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        mpi = Actor(kind=INTERNAL, id="mpi", display="Master patient index", site=GOLDEN_OWNER)
        services.bundle_process(bundle=bundle, actor=mpi, base_url="urn:alliance:hub")
    return len(entries)


def _record(patient_id: str) -> MpiRecord:
    record = MpiRecord.objects.select_for_update().filter(patient_id=patient_id).first()
    if record is None:
        raise IdentityError(_("Patient/%(id)s is not in the master patient index.") % {"id": patient_id})
    return record


@transaction.atomic
def patient_link(*, patient_id: str, golden: GoldenRecord, actor: str, reason: str = "") -> LinkEvent:
    """Move a site Patient to ``golden`` (someone decided they are the same person)."""
    record = _record(patient_id)
    if record.golden_id == golden.pk:
        raise IdentityError(_("Patient/%(id)s is already linked to that person.") % {"id": patient_id})
    if not golden.active:
        raise IdentityError(_("That golden record was merged into another."))
    previous = record.golden_id
    record.golden, record.method = golden, LinkMethod.MANUAL
    record.save(update_fields=["golden", "method", "updated_at"])
    MatchReview.objects.filter(record=record, candidate=golden, status=ReviewStatus.PENDING).update(
        status=ReviewStatus.LINKED, decided_by=actor, decided_at=timezone.now()
    )
    event = LinkEvent.objects.create(
        action=LinkAction.LINK, record=record, from_golden_id=previous, to_golden=golden, actor=actor, reason=reason
    )
    goldens_publish_later({previous, golden.pk})
    return event


@transaction.atomic
def patient_unlink(*, patient_id: str, actor: str, reason: str = "") -> LinkEvent:
    """Take a site Patient out of its golden record into a new one of its own."""
    record = _record(patient_id)
    if record.golden.records.count() == 1:
        raise IdentityError(_("Patient/%(id)s is not linked to anyone else.") % {"id": patient_id})
    previous = record.golden_id
    record.golden, record.method = GoldenRecord.objects.create(), LinkMethod.MANUAL
    record.save(update_fields=["golden", "method", "updated_at"])
    event = LinkEvent.objects.create(
        action=LinkAction.UNLINK, record=record, from_golden_id=previous, to_golden=record.golden, actor=actor,
        reason=reason,
    )  # fmt: skip
    goldens_publish_later({previous, record.golden_id})
    return event


@transaction.atomic
def patient_forget(*, patient_id: str, actor: str, reason: str = "") -> LinkEvent | None:
    """A site deleted its Patient: out of the index; its person keeps the other sites' records (or ends)."""
    record = MpiRecord.objects.select_for_update().filter(patient_id=patient_id).select_related("golden").first()
    if record is None:
        return None
    golden = record.golden
    event = LinkEvent.objects.create(
        action=LinkAction.REMOVE, record=None, from_golden=golden, to_golden=None, actor=actor, reason=reason,
        moved_records=[{"patient_id": patient_id, "site_code": record.site_code}],
    )  # fmt: skip
    record.delete()
    if not golden.records.exists() and golden.active:
        golden.active = False
        golden.save(update_fields=["active", "updated_at"])
    goldens_publish_later({golden.pk})
    return event


@transaction.atomic
def golden_merge(*, source: GoldenRecord, target: GoldenRecord, actor: str, reason: str = "") -> LinkEvent:
    """Merge golden record ``source`` into ``target``: its site records move, it is retired."""
    if source.pk == target.pk or not source.active or not target.active:
        raise IdentityError(_("Only two different, active golden records can be merged."))
    moved = list(source.records.values_list("pk", flat=True))
    MpiRecord.objects.filter(pk__in=moved).update(golden=target, method=LinkMethod.MANUAL)
    GoldenRecord.objects.filter(pk=source.pk).update(active=False, merged_into=target)
    event = LinkEvent.objects.create(
        action=LinkAction.MERGE, from_golden=source, to_golden=target, moved_records=moved, actor=actor, reason=reason
    )
    goldens_publish_later({source.pk, target.pk})
    return event


@transaction.atomic
def review_reject(*, review: MatchReview, actor: str) -> None:
    """A site admin decides the two are different people."""
    if review.status != ReviewStatus.PENDING:
        raise IdentityError(_("This match has already been decided."))
    review.status, review.decided_by, review.decided_at = ReviewStatus.REJECTED, actor, timezone.now()
    review.save(update_fields=["status", "decided_by", "decided_at"])


@transaction.atomic
def link_event_revert(*, event: LinkEvent, actor: str, reason: str = "") -> LinkEvent:
    """Undo a link, unlink or merge exactly; the undoing is itself audited."""
    event = LinkEvent.objects.select_for_update().get(pk=event.pk)
    if event.reverted_by_id or event.action == LinkAction.REVERT:
        raise IdentityError(_("This decision was already reverted."))
    touched = {event.from_golden_id, event.to_golden_id}
    if event.action == LinkAction.MERGE:
        GoldenRecord.objects.filter(pk=event.from_golden_id).update(active=True, merged_into=None)
        MpiRecord.objects.filter(pk__in=event.moved_records).update(golden_id=event.from_golden_id)
    else:
        record = MpiRecord.objects.select_for_update().get(pk=event.record_id)
        if record.golden_id != event.to_golden_id:
            raise IdentityError(_("The record has moved since; revert the later decision first."))
        record.golden_id = event.from_golden_id
        record.save(update_fields=["golden", "updated_at"])
    revert = LinkEvent.objects.create(
        action=LinkAction.REVERT, record_id=event.record_id, from_golden_id=event.to_golden_id,
        to_golden_id=event.from_golden_id, actor=actor, reason=reason,
    )  # fmt: skip
    event.reverted_by = revert
    event.save(update_fields=["reverted_by"])
    goldens_publish_later({g for g in touched if g})
    return revert
