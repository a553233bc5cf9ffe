from celery import shared_task

from hub.audit.seals import audit_seal
from hub.audit.spool import spool_drain


@shared_task(name="audit.seal", ignore_result=True)
def audit_seal_task() -> None:
    """Store what the spool holds, then seal the trail's newly committed rows (``hub.audit.seals``)."""
    spool_drain()
    audit_seal()
