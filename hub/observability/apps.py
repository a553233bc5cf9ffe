from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ObservabilityConfig(AppConfig):
    name = "hub.observability"
    label = "observability"
    verbose_name = _("Observability")

    def ready(self) -> None:
        from celery.signals import before_task_publish, task_postrun, task_prerun

        from fhir_gateway import hooks
        from hub.observability import context, metrics

        hooks.register(hooks.interaction_observers, metrics.fhir_interaction_observed)
        before_task_publish.connect(context.task_publishing, dispatch_uid="observability-publish", weak=False)
        task_prerun.connect(context.task_started, dispatch_uid="observability-task-start", weak=False)
        task_postrun.connect(context.task_finished, dispatch_uid="observability-task-end", weak=False)
