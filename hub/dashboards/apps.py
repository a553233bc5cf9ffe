from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "hub.dashboards"
    label = "dashboards"
    verbose_name = _("Network dashboard")

    def ready(self) -> None:
        from hub.dashboards import checks  # noqa: F401  (registers the settings check)
