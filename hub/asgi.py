"""ASGI entry point: HTTP through Django (its WSGI handler, in a thread pool), websockets through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")

from django.core.asgi import get_asgi_application  # noqa: E402

from hub.db_limits import request_statement_timeout  # noqa: E402

django_asgi_app = get_asgi_application()
request_statement_timeout()  # hardening: no request's SQL runs longer than DATABASE_STATEMENT_TIMEOUT_MS

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from fhir_gateway.api.asgi import with_fhir_fast_path  # noqa: E402
from hub.notifications.auth import BearerOrOriginValidator  # noqa: E402
from hub.observability.asgi import observed  # noqa: E402
from hub.routing import websocket_urlpatterns  # noqa: E402

application = observed(
    ProtocolTypeRouter(
        {
            # Every HTTP request through Django's WSGI handler in a thread pool: one thread hop per request, not
            # a dozen (all the hub's views are synchronous; the same middleware, authentication, CSRF, sessions).
            "http": with_fhir_fast_path(django_asgi_app, all_http=True),
            # Browsers' handshakes must come from an allowed Origin; programs with a bearer token need none.
            "websocket": BearerOrOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)

from hub import heap  # noqa: E402

heap.settle()  # start-up is done: freeze what it built (hub/heap.py)
