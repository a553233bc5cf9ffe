"""``/healthz``, ``/livez`` and ``/metrics`` answer whatever the ``Host`` header says.

Probes do not name the hub: Kubernetes' kubelet sends the pod's address (``Host: 10.244.1.7:8000``), Docker's
health checks and Prometheus the address they dialled, a load balancer its own idea. Django's host check
(``ALLOWED_HOSTS``, run by ``CommonMiddleware``) would answer them 400, so a deployment with
``DJANGO_ALLOWED_HOSTS=hub.alliance.example`` never became ready. This middleware, first in ``MIDDLEWARE``,
hands these three paths to their views before any host check; they build no URL from the host, and
``/metrics`` keeps its own rule (the scrapers' token). Their answers carry the same security headers as every
other (the security, Content-Security-Policy and frame-options middlewares' responses). Every other path is
checked as before.
"""

from __future__ import annotations


def _views() -> dict:
    from hub import health
    from hub.observability import views

    return {"/healthz": health.healthz, "/livez": views.livez, "/metrics": views.metrics_view}


def _headers_added_by() -> list:
    from csp.middleware import CSPMiddleware
    from django.middleware.clickjacking import XFrameOptionsMiddleware
    from django.middleware.security import SecurityMiddleware

    def unused(request):  # only their process_response is called
        raise AssertionError("not called")

    return [middleware(unused) for middleware in (XFrameOptionsMiddleware, CSPMiddleware, SecurityMiddleware)]


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.views = _views()
        self.headers = _headers_added_by()

    def __call__(self, request):
        view = self.views.get(request.path_info)
        if view is None:
            return self.get_response(request)
        response = view(request)
        for middleware in self.headers:
            response = middleware.process_response(request, response)
        return response
