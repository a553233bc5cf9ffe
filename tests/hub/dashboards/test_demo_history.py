"""The demo's dashboard history: every county, every pathway measured, drafts and test data left out, loaded once."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from hub.accounts.models import User
from hub.demo.dashboard import demo_dashboard_load
from hub.referrals.models import Referral


def test_the_demo_gives_the_dashboard_something_to_measure_and_loads_once(db):
    call_command("load_demo")
    total = Referral.objects.count()
    assert demo_dashboard_load() == total - 14 > 900  # the history, beside the 14 requests of today's demo
    assert Referral.objects.count() == total
    today = timezone.localdate()

    client = Client()
    client.force_login(User.objects.get(username="official_wang"))
    body = client.get("/api/dashboard/", {"period": str(today.year), "interval": "month"}).json()
    year = client.get("/api/dashboard/", {"start": "2020-01-01", "end": "2030-12-31"})
    assert year.status_code == 400  # more than three years

    since = (today - timedelta(days=1000)).isoformat()
    everything = client.get("/api/dashboard/", {"start": since, "end": today.isoformat()}).json()
    counted = Referral.objects.filter(is_test=False, submitted_at__isnull=False).exclude(status="draft")
    assert everything["summary"]["requests"] == counted.count()
    assert Referral.objects.filter(is_test=True).exists() and Referral.objects.filter(status="draft").exists()
    assert all(s["requesting"]["requests"] > 0 for s in everything["sites"] if s["kind"] == "county")
    assert everything["summary"]["down"] > 0 and everything["summary"]["breached_requests"] > 0
    for pathway in everything["pathways"]:
        assert all(i["measured"] > 0 for i in pathway["intervals"]), pathway["pathway"]
        assert all(r["denominator"] > 0 for r in pathway["rates"]), pathway["pathway"]
    assert len(body["trend"]) == 12
