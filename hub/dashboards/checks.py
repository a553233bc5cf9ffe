"""A configured KPI target that names no KPI stops the hub at start-up, naming the key."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from hub.dashboards.constants import configurable_target_keys


@register()
def kpi_targets_check(app_configs, **kwargs) -> list[Error]:
    configured = getattr(settings, "KPI_TARGET_MINUTES", {}) or {}
    unknown = sorted(set(configured) - configurable_target_keys())
    if not unknown:
        return []
    return [
        Error(
            f"HUB_KPI_TARGETS names unknown KPIs: {', '.join(unknown)}",
            hint=f"Known: {', '.join(sorted(configurable_target_keys()))}",
            id="dashboards.E001",
        )
    ]
