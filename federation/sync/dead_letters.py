"""Records a site sent that the hub could not store: kept with their error until the site fixes them."""

from __future__ import annotations

from django.db.models import F

from federation.sync.models import DeadLetter


def dead_letter_record(*, site: str, resource_type: str, source_id: str, content: dict | None, error: dict) -> None:
    updated = DeadLetter.objects.filter(site_code=site, resource_type=resource_type, source_id=source_id).update(
        content=content, error=error, resolved=False, attempts=F("attempts") + 1
    )
    if not updated:
        DeadLetter.objects.create(
            site_code=site, resource_type=resource_type, source_id=source_id, content=content, error=error
        )


def dead_letters_resolve(*, site: str, resource_type: str, source_ids: list[str]) -> int:
    """Mark as resolved the dead letters of records that have now been stored."""
    return DeadLetter.objects.filter(
        site_code=site, resource_type=resource_type, source_id__in=source_ids, resolved=False
    ).update(resolved=True)


def error_of(issues: list[dict]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": issues}
