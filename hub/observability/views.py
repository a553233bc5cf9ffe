"""``GET /metrics`` for Prometheus (scrapers only) and ``GET /livez`` (the process answers)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django.views.decorators.http import require_GET

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _scraper(request) -> bool:
    """With ``HUB_METRICS_TOKEN``: its bearer token; without: a caller on this host only (the rule: hub.access)."""
    from hub.access.endpoints import metrics_allowed

    return metrics_allowed(request, token=getattr(settings, "HUB_METRICS_TOKEN", ""))


@require_GET
def metrics_view(request):
    if not _scraper(request):
        return HttpResponseNotFound()  # as if there were nothing here
    from hub.observability.metrics import exposition

    return HttpResponse(exposition(), content_type=CONTENT_TYPE)


@require_GET
def livez(request):
    """Liveness only: no dependency is checked (a database outage must not restart every process)."""
    return JsonResponse({"status": "ok"})
