"""Background work of the rooms: FHIR Communications of chat messages, and the sweeps that catch up."""

from celery import shared_task


@shared_task(name="consultations.communication_store")
def communication_store_task(*, event_id: int) -> str:
    """A failure is left to ``pending_fhir_store_task``, which retries every message still without its record."""
    from hub.consultations.services import communication_store

    return communication_store(event_id=event_id)


@shared_task(name="consultations.pending_fhir_store")
def pending_fhir_store_task() -> int:
    from hub.consultations.services import pending_fhir_store

    return pending_fhir_store()


@shared_task(name="consultations.presence_sweep")
def presence_sweep_task() -> int:
    from hub.consultations.services import presence_sweep

    return presence_sweep()
