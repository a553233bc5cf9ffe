from celery.signals import task_postrun, task_prerun
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "hub.audit"
    label = "audit"
    verbose_name = _("Audit trail")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fhir_gateway import hooks
        from hub.audit import recorder
        from hub.audit.fhir import provider

        hooks.register(hooks.interaction_observers, recorder.record_interaction)
        hooks.register(hooks.write_recorders, recorder.record_writes)
        hooks.virtual_types["AuditEvent"] = provider
        task_prerun.connect(recorder.task_started, dispatch_uid="audit-task-start", weak=False)
        task_postrun.connect(recorder.task_finished, dispatch_uid="audit-task-end", weak=False)
