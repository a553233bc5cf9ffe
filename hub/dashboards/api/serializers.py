"""The dashboard's JSON shape (it also documents the API in the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

from hub.dashboards.constants import Interval

_MIN = {"allow_null": True, "help_text": "minutes; null when nothing was measured"}
_SHARE = {"allow_null": True, "help_text": "0-1; null when nothing was counted"}


class FilterSerializer(serializers.Serializer):
    period = serializers.CharField(
        required=False,
        max_length=12,
        help_text="a day 2026-11-20, an ISO week 2026-W47, a month 2026-11, a quarter 2026-Q4 or a year 2026 "
        "(default: the current quarter)",
    )
    start = serializers.DateField(required=False, help_text="custom period: first day (with end)")
    end = serializers.DateField(required=False, help_text="custom period: last day, included (with start)")
    interval = serializers.ChoiceField(
        choices=Interval.choices, required=False, help_text="the trend's buckets (default: by the period's length)"
    )
    site = serializers.SlugField(required=False, max_length=40, help_text="drill down to a site (its code)")
    department = serializers.SlugField(
        required=False, max_length=40, help_text="then to one of its departments (its code)"
    )


class PlaceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ScopeSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["alliance", "site", "department"])
    site = PlaceSerializer(allow_null=True)
    department = PlaceSerializer(allow_null=True)


class PeriodSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["day", "week", "month", "quarter", "year", "custom"])
    code = serializers.CharField(help_text="the period's name; empty for a custom range")
    start = serializers.DateField()
    end = serializers.DateField(help_text="last day, included")
    interval = serializers.ChoiceField(choices=Interval.choices)


class SummarySerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    up = serializers.IntegerField(help_text="up-referrals (上转)")
    down = serializers.IntegerField(help_text="down-referrals (下转)")
    balance = serializers.IntegerField(help_text="up minus down")
    consultations = serializers.IntegerField()
    diagnoses = serializers.IntegerField()
    completed = serializers.IntegerField()
    breached_requests = serializers.IntegerField(help_text="requests escalated for missing the response target")
    sla_breaches = serializers.IntegerField(help_text="escalations, all levels")
    breach_share = serializers.FloatField(**_SHARE)


class CountSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class ResponseTimeSerializer(serializers.Serializer):
    urgency = serializers.CharField()
    label = serializers.CharField()
    requests = serializers.IntegerField()
    accept_target_minutes = serializers.IntegerField()
    accepted = serializers.IntegerField()
    accept_median = serializers.FloatField(**_MIN)
    accept_p90 = serializers.FloatField(**_MIN)
    accept_met_share = serializers.FloatField(**_SHARE)
    opinion_target_minutes = serializers.IntegerField()
    answered = serializers.IntegerField()
    opinion_median = serializers.FloatField(**_MIN)
    opinion_p90 = serializers.FloatField(**_MIN)
    opinion_met_share = serializers.FloatField(**_SHARE)


class IntervalSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    start = serializers.CharField(help_text="time node the interval starts at")
    to = serializers.CharField(help_text="time node it ends at")
    target_minutes = serializers.IntegerField()
    strict = serializers.BooleanField(help_text="true: < target; false: <= target")
    required_share = serializers.FloatField(allow_null=True, help_text="share that must meet it; null if none")
    measured = serializers.IntegerField(help_text="requests with both times")
    median = serializers.FloatField(**_MIN)
    p90 = serializers.FloatField(**_MIN)
    met = serializers.IntegerField()
    met_share = serializers.FloatField(**_SHARE)
    passes = serializers.BooleanField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("start")  # "from" is a Python keyword: the field is renamed here
        return fields


class RateSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    required_share = serializers.FloatField()
    denominator = serializers.IntegerField()
    numerator = serializers.IntegerField()
    share = serializers.FloatField(**_SHARE)
    passes = serializers.BooleanField(allow_null=True)


class PathwaySerializer(serializers.Serializer):
    pathway = serializers.CharField()
    label = serializers.CharField()
    requests = serializers.IntegerField()
    intervals = IntervalSerializer(many=True)
    rates = RateSerializer(many=True)


class TrendSerializer(serializers.Serializer):
    bucket = serializers.CharField()
    start = serializers.DateField()
    requests = serializers.IntegerField()
    up = serializers.IntegerField()
    down = serializers.IntegerField()
    consultations = serializers.IntegerField()
    breached_requests = serializers.IntegerField()
    accept_median = serializers.FloatField(**_MIN)


class SideSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    up = serializers.IntegerField()
    down = serializers.IntegerField()
    consultations = serializers.IntegerField()
    diagnoses = serializers.IntegerField()
    emergency = serializers.IntegerField()
    completed = serializers.IntegerField()
    breached_requests = serializers.IntegerField()
    accept_median = serializers.FloatField(**_MIN)
    accept_p90 = serializers.FloatField(**_MIN)
    opinion_median = serializers.FloatField(**_MIN)


class SiteRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    requesting = SideSerializer(help_text="the site as the requesting side (发起方)")
    receiving = SideSerializer(help_text="the site as the receiving side (接收方)")


class DepartmentRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    requesting = SideSerializer(help_text="requests made by the department's doctors")
    receiving = SideSerializer(help_text="requests routed to the department")


class FeedHealthSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    state = serializers.CharField(help_text="healthy, degraded, down, unknown; empty: no data feed configured")
    state_label = serializers.CharField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    lag_minutes = serializers.FloatField(**_MIN)
    consecutive_failures = serializers.IntegerField()
    runs = serializers.IntegerField(help_text="sync runs in the period")
    failed_runs = serializers.IntegerField()
    recent_errors = serializers.IntegerField(help_text="errors among the latest ten, in the period")
    dead_letters = serializers.IntegerField(help_text="records refused and not yet resolved")


class DashboardSerializer(serializers.Serializer):
    scope = ScopeSerializer()
    period = PeriodSerializer()
    generated_at = serializers.DateTimeField()
    summary = SummarySerializer()
    by_kind = CountSerializer(many=True)
    by_urgency = CountSerializer(many=True)
    by_pathway = CountSerializer(many=True)
    by_status = CountSerializer(many=True)
    response = ResponseTimeSerializer(many=True)
    pathways = PathwaySerializer(many=True)
    trend = TrendSerializer(many=True)
    sites = SiteRowSerializer(many=True, help_text="per-site comparison; empty at the department level")
    departments = DepartmentRowSerializer(many=True, help_text="the site's departments; empty at the alliance level")
    feed_health = FeedHealthSerializer(many=True)
