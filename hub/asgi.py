"""ASGI entry point: HTTP through Django (its WSGI handler, in a thread pool), websockets through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from fhir_gateway.api.asgi import with_fhir_fast_path  # noqa: E402
from hub.notifications.auth import bearer_or_same_origin  # noqa: E402
from hub.observability.asgi import observed  # noqa: E402
from hub.routing import websocket_urlpatterns  # noqa: E402

application = observed(
    ProtocolTypeRouter(
        {
            # Every HTTP request through Django's WSGI handler in a thread pool: one thread hop per request, not
            # a dozen (all the hub's views are synchronous; the same middleware, authentication, CSRF, sessions).
            "http": with_fhir_fast_path(django_asgi_app, all_http=True),
            # A browser's websocket (its session cookie) only from the hub's own pages; a client that sends an
            # ``Authorization: Bearer`` header (no browser page can) needs no Origin.
            "websocket": bearer_or_same_origin(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns)), AllowedHostsOriginValidator
            ),
        }
    )
)
