"""Celery tasks of the federation: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="federation.sync_due_sites", ignore_result=True)
def sync_due_sites() -> list[int]:
    """Beat entry: start a sync for every site that is due (circuit breakers permitting)."""
    from federation.sites.health import syncs_due

    due = syncs_due()
    for sync_id in due:
        site_sync.delay(sync_id)
    return due


@shared_task(name="federation.site_sync", ignore_result=True, acks_late=True)
def site_sync(sync_id: int) -> dict | None:
    from federation.sync.pull import site_sync_run

    run = site_sync_run(sync_id=sync_id)
    if run is None:
        return None
    return {"ok": run.ok, "pages": run.pages, "stored": run.stored, "dead_lettered": run.dead_lettered}


@shared_task(name="federation.goldens_publish", ignore_result=True)
def goldens_publish(golden_ids: list[int]) -> int:
    from federation.identity.services import goldens_publish as publish

    return publish(golden_ids=golden_ids)
