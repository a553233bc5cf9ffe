"""Periodic upkeep of the gateway's search index (Celery beat entries in the project's settings)."""

from celery import shared_task

from fhir_gateway.search import counts


@shared_task(name="fhir.search_counts_fold", ignore_result=True)
def search_counts_fold_task() -> int:
    """Fold the resource-count deltas of every type, counted or not, into one row per (type, owner)."""
    return counts.fold()
