"""Background work of the rooms: FHIR Communications of chat messages, and the sweeps that catch up."""

from celery import shared_task


@shared_task(name="consultations.communications_flush")
def communications_flush_task() -> int:
    """A failure is left to ``pending_fhir_store_task``, which retries every message still without its record."""
    from hub.consultations.services import communications_flush

    return communications_flush()


@shared_task(name="consultations.communication_store")
def communication_store_task(*, event_id: int | None = None) -> int:
    """The one-message task of earlier releases (still queued at an upgrade): a flush writes that message."""
    from hub.consultations.services import communications_flush

    return communications_flush()


@shared_task(name="consultations.pending_fhir_store")
def pending_fhir_store_task() -> int:
    from hub.consultations.services import pending_fhir_store

    return pending_fhir_store()


@shared_task(name="consultations.presence_sweep")
def presence_sweep_task() -> int:
    from hub.consultations.services import presence_sweep

    return presence_sweep()
