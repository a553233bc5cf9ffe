"""The hub's Celery app. Tasks run inline when no broker is configured."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _settle_heap(**_kwargs) -> None:
    """Before the worker's pool forks: build the gateway's tables, then freeze them (hub/heap.py)."""
    from fhir_gateway import services
    from hub import heap

    services.warm_up()
    heap.settle()
