from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ObservabilityConfig(AppConfig):
    name = "hub.observability"
    label = "observability"
    verbose_name = _("Observability")

    def ready(self) -> None:
        from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready

        from fhir_gateway import hooks
        from hub.observability import context, metrics

        hooks.register(hooks.interaction_observers, metrics.fhir_interaction_observed)
        before_task_publish.connect(context.task_publishing, dispatch_uid="observability-publish", weak=False)
        task_prerun.connect(context.task_started, dispatch_uid="observability-task-start", weak=False)
        task_postrun.connect(context.task_finished, dispatch_uid="observability-task-end", weak=False)
        worker_ready.connect(_worker_metrics, dispatch_uid="observability-worker-metrics", weak=False)


def _worker_metrics(**kwargs) -> None:
    """A Celery worker serves its tasks' counters at :HUB_METRICS_PORT/metrics when that is set."""
    from django.conf import settings

    from hub.observability.metrics import metrics_serve

    if settings.HUB_METRICS_PORT:
        metrics_serve(port=settings.HUB_METRICS_PORT)
