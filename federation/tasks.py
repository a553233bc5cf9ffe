"""Celery tasks of the federation: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="federation.sync_due_sites", ignore_result=True)
def sync_due_sites() -> list[int]:
    """Beat entry: start a sync for every site that is due (circuit breakers permitting)."""
    from django.conf import settings

    from federation.sites.health import syncs_due
    from federation.sites.sync_config import SiteSync

    due = syncs_due()
    split = bool((getattr(settings, "FEDERATION_SYNC", {}) or {}).get("split_types", False))
    for sync_id in due:
        if split:  # one task per resource type: several workers pull one site at once
            for resource_type in SiteSync.objects.get(pk=sync_id).types:
                site_sync.delay(sync_id, [resource_type])
        else:
            site_sync.delay(sync_id)
    return due


@shared_task(name="federation.site_sync", ignore_result=True, acks_late=True)
def site_sync(sync_id: int, resource_types: list[str] | None = None) -> dict | None:
    from federation.sync.pull import site_sync_run

    run = site_sync_run(sync_id=sync_id, resource_types=resource_types)
    if run is None:
        return None
    return {"ok": run.ok, "pages": run.pages, "stored": run.stored, "dead_lettered": run.dead_lettered}


@shared_task(name="federation.goldens_publish", ignore_result=True)
def goldens_publish(golden_ids: list[int]) -> int:
    from federation.identity.services import goldens_publish as publish

    return publish(golden_ids=golden_ids)
