"""The request id: made (or taken from the proxy's ``X-Request-ID``) per request, carried into Celery tasks."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
HEADER = "x-request-id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # a proxy's id, never arbitrary text into the logs
_task_started: dict[str, float] = {}


def request_id_from(headers) -> str:
    """The proxy's id when it is a plain token, else a new one."""
    for name, value in headers or []:
        if name == b"x-request-id":
            text = value.decode("latin1")
            if _ACCEPTABLE.match(text):
                return text
    return uuid.uuid4().hex


def task_publishing(headers=None, **kwargs) -> None:
    """Celery ``before_task_publish``: the task carries the id of the request (or task) that queued it."""
    current = request_id.get()
    if current and headers is not None:
        headers.setdefault("request_id", current)


def task_started(task_id=None, task=None, **kwargs) -> None:
    parent = getattr(getattr(task, "request", None), "request_id", None) or ""
    if not parent:
        headers = getattr(getattr(task, "request", None), "headers", None) or {}
        parent = headers.get("request_id", "") if isinstance(headers, dict) else ""
    request_id.set(parent or f"task-{task_id}")
    _task_started[task_id] = time.perf_counter()


def task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    from hub.observability import metrics

    started = _task_started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    metrics.CELERY_TASKS.labels(task=name, state=str(state or "unknown")).inc()
    if started is not None:
        metrics.CELERY_TASK_SECONDS.labels(task=name).observe(time.perf_counter() - started)
    request_id.set("")
