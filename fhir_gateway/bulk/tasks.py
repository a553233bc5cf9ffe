"""Celery tasks of the bulk export: run a job, bring back jobs whose worker died, delete expired files."""

from celery import shared_task


@shared_task(name="fhir.export_run", ignore_result=True, acks_late=True)
def export_run_task(job_id: int) -> None:
    from fhir_gateway.bulk.services import export_run

    export_run(job_id=job_id)


@shared_task(name="fhir.exports_recover", ignore_result=True)
def exports_recover_task() -> int:
    from fhir_gateway.bulk.services import exports_recover

    return exports_recover()


@shared_task(name="fhir.exports_expire", ignore_result=True)
def exports_expire_task() -> int:
    from fhir_gateway.bulk.services import exports_expire

    return exports_expire()
