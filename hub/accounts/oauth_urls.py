"""``/o/``: the OAuth2 endpoints site systems use (token, revoke, introspect) and the application registration
pages, which only the hub's administrators reach (anyone else gets a 404: nothing to see here)."""

from __future__ import annotations

from functools import wraps

from django.http import Http404
from oauth2_provider import urls as oauth_urls
from oauth2_provider import views

from hub.access.endpoints import oauth_applications_allowed


def _hub_admins_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not oauth_applications_allowed(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _guarded(patterns):
    from django.urls import path

    return [path(str(p.pattern), _hub_admins_only(p.callback), name=p.name) for p in patterns]


app_name = "oauth2_provider"
_site_system_views = (views.TokenView, views.RevokeTokenView, views.IntrospectTokenView)
urlpatterns = [
    p for p in oauth_urls.base_urlpatterns if getattr(p.callback, "view_class", None) in _site_system_views
] + _guarded(oauth_urls.management_urlpatterns)
