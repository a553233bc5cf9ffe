from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from federation import api as federation_api
from federation.subscriptions import api as subscription_api
from fhir_gateway.api.views import base as fhir_base
from hub import health
from hub.observability import views as observability

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("livez", observability.livez, name="livez"),
    path("metrics", observability.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/referrals/", include("hub.referrals.api.urls")),
    path("api/audit/", include("hub.audit.api.urls")),
    # --- dashboards (network dashboard: JSON API, exports, page) ---
    path("api/dashboard/", include("hub.dashboards.api.urls")),
    path("dashboard/", include("hub.dashboards.web.urls")),
    # --- end dashboards ---
    path("api/access/", include("hub.access.api.urls")),  # access: break the glass and its review
    path("api/consultations/", include("hub.consultations.api.urls")),
    path("api/notifications/", include("hub.notifications.api.urls")),  # notifications: list, mark read
    path("api/outbox/", include("hub.deliveries.api.urls")),  # outbox: dead letters and their re-send
    path("outbox/", include("hub.deliveries.web.urls")),
    path("api/", include("hub.accounts.api.urls")),
    path("fhir/Patient/$match", federation_api.match, name="fhir-patient-match"),
    path("fhir/Subscription/<str:fhir_id>/$events", subscription_api.events, name="fhir-subscription-events"),
    path("fhir/", include("fhir_gateway.api.urls")),
    path("fhir", fhir_base, name="fhir-base-no-slash"),  # FHIR clients post Bundles to the base URL as given
    path("federation/", include("federation.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # The language comes from the user's choice (cookie) or the browser's Accept-Language.
    path("admin/", admin.site.urls),
    path("referrals/", include("hub.referrals.web.urls")),
    path("access/", include("hub.access.web.urls")),  # access: a patient's record, emergency access reviews
    path("consultations/", include("hub.consultations.web.urls")),
    path("", include("hub.web.urls")),
]

handler404 = "hub.web.views.not_found"
handler500 = "hub.web.views.server_error"
