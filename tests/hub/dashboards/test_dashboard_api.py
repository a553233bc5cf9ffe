"""The network dashboard's API: who sees what, what is counted, and the KPIs against their targets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from federation.sites.sync_config import SiteSync
from hub.referrals import services
from hub.referrals.models import Referral
from tests.factories import UserFactory, with_signing_pin
from tests.hub.dashboards.conftest import QUARTER, T0, refer

pytestmark = pytest.mark.django_db


def dashboard(client, **params):
    return client.get("/api/dashboard/", params)


@pytest.fixture
def network(
    dr_li_at_county_a,
    dr_zhao_at_county_b,
    cardiologist_zhang,
    neurologist_zhou,
    patient_at_county_a,
    patient_at_county_b,
    test_patient_at_county_a,
    emergency_department_a,
):
    """County A: three requests (one accepted and answered), a draft and a test patient's; county B: one."""
    a, b = f"Patient/{patient_at_county_a['id']}", f"Patient/{patient_at_county_b['id']}"
    dr_li_at_county_a.department = emergency_department_a
    dr_li_at_county_a.save(update_fields=["department"])
    first = refer(dr_li_at_county_a, a, at=T0)
    services.task_accept(referral_id=first.pk, actor=cardiologist_zhang, now=T0 + timedelta(minutes=4))
    services.opinion_sign(
        referral_id=first.pk,
        actor=cardiologist_zhang,
        conclusion="急性前壁心梗",
        now=T0 + timedelta(minutes=34),
        pin=with_signing_pin(cardiologist_zhang),
    )
    refer(dr_li_at_county_a, a, at=T0 + timedelta(days=1), kind="up_referral")
    refer(dr_li_at_county_a, a, at=T0 + timedelta(days=2), urgency="emergency", pathway="stroke")
    refer(dr_li_at_county_a, a, at=T0 + timedelta(days=3), submit=False)  # a draft
    refer(dr_li_at_county_a, f"Patient/{test_patient_at_county_a['id']}", at=T0 + timedelta(days=3))  # test data
    refer(dr_zhao_at_county_b, b, at=T0 + timedelta(days=4), pathway="other", target_specialty="neurology")
    refer(dr_zhao_at_county_b, b, at=T0 - timedelta(days=60))  # the quarter before
    return {"first": first}


def test_an_official_sees_every_hospital_but_not_the_alliance_and_no_draft_or_test_data(
    page, official_wang, network, general_hospital
):
    body = dashboard(page(official_wang), period=QUARTER).json()

    counted = (
        Referral.objects.filter(
            submitted_at__gte="2026-10-01T00:00+08:00", submitted_at__lt="2027-01-01T00:00+08:00", is_test=False
        )
        .exclude(status="draft")
        .count()
    )
    assert body["summary"]["requests"] == counted == 4
    assert Referral.objects.filter(is_test=True).count() == 1 and Referral.objects.filter(status="draft").count() == 1
    assert {s["code"] for s in body["sites"]} == {"general", "county-a", "county-b"}  # never "alliance"
    sites = {s["code"]: s for s in body["sites"]}
    assert (sites["county-a"]["requesting"]["requests"], sites["county-a"]["receiving"]["requests"]) == (3, 0)
    assert (sites["general"]["requesting"]["requests"], sites["general"]["receiving"]["requests"]) == (0, 4)
    assert {k["key"]: k["count"] for k in body["by_kind"]}["up_referral"] == 1
    assert "patient" not in str(body).lower()


def test_the_hub_administrator_sees_every_site_not_zeros(page, hub_admin, network):
    body = dashboard(page(hub_admin), period=QUARTER).json()

    assert body["summary"]["requests"] == 4
    assert {s["code"] for s in body["sites"]} >= {"county-a", "county-b", "general"}


def test_a_site_administrator_sees_only_their_own_site(page, admin_of_county_a, network):
    client = page(admin_of_county_a)
    own = dashboard(client, period=QUARTER)

    assert own.status_code == 200
    assert own.json()["scope"]["site"]["code"] == "county-a" and own.json()["summary"]["requests"] == 3
    assert [s["code"] for s in own.json()["sites"]] == ["county-a"]
    other, unknown = dashboard(client, period=QUARTER, site="county-b"), dashboard(client, site="nowhere")
    assert other.status_code == unknown.status_code == 404 and other.json() == unknown.json()


def test_clinicians_and_strangers_are_refused(page, client, dr_li_at_county_a, network):
    assert dashboard(page(dr_li_at_county_a)).status_code == 403
    assert dashboard(client).status_code == 401
    assert page(dr_li_at_county_a).get("/dashboard/").status_code == 403


def test_drilling_down_from_a_site_to_a_department(page, official_wang, network):
    client = page(official_wang)
    site = dashboard(client, period=QUARTER, site="county-a").json()
    assert [d["code"] for d in site["departments"]] == ["emergency"]
    assert site["departments"][0]["requesting"]["requests"] == 3

    department = dashboard(client, period=QUARTER, site="county-a", department="emergency").json()
    assert department["scope"]["level"] == "department" and department["summary"]["requests"] == 3
    assert dashboard(client, period=QUARTER, department="emergency").status_code == 400  # no site chosen
    assert dashboard(client, period=QUARTER, site="county-a", department="cardiology").status_code == 404


def test_periods_trends_and_the_response_times_against_targets(page, official_wang, network):
    client = page(official_wang)
    month = dashboard(client, period="2026-11").json()
    assert (month["period"]["start"], month["period"]["end"], month["period"]["interval"]) == (
        "2026-11-01",
        "2026-11-30",
        "day",
    )
    assert len(month["trend"]) == 30 and sum(t["requests"] for t in month["trend"]) == 4
    assert {t["bucket"]: t["requests"] for t in month["trend"]}["2026-11-19"] == 1

    quarter = dashboard(client, period=QUARTER, interval="month").json()
    assert [t["bucket"] for t in quarter["trend"]] == ["2026-10", "2026-11", "2026-12"]
    urgent = next(r for r in quarter["response"] if r["urgency"] == "urgent")
    assert (urgent["accepted"], urgent["accept_median"], urgent["accept_met_share"]) == (1, 4.0, 1.0)
    assert (urgent["answered"], urgent["opinion_median"], urgent["opinion_target_minutes"]) == (1, 34.0, 480)

    week = dashboard(client, period="2026-W47").json()
    assert (week["period"]["start"], week["period"]["end"]) == ("2026-11-16", "2026-11-22")
    custom = dashboard(client, start="2026-11-19", end="2026-11-20").json()
    assert custom["summary"]["requests"] == 2 and custom["period"]["kind"] == "custom"
    day = dashboard(client, period="2026-11-19").json()
    assert day["summary"]["requests"] == 1
    for bad in (
        {"period": "2026-Q5"},
        {"period": "soon"},
        {"start": "2026-11-20"},
        {"start": "2026-11-20", "end": "2026-11-01"},
        {"start": "2020-01-01", "end": "2026-01-01"},
        {"interval": "hour"},
    ):
        refused = dashboard(client, **bad)
        assert refused.status_code == 400, bad
        assert set(refused.json()) == {"error", "detail"}


def test_chest_pain_center_kpis_against_their_targets(
    page, official_wang, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a
):
    a = f"Patient/{patient_at_county_a['id']}"
    # An ambulance arrival with the ECG sent ahead, straight to the cath lab: every target met.
    refer(
        dr_li_at_county_a,
        a,
        at=T0,
        nodes={
            "ems_called": -60,
            "first_medical_contact": -50,
            "first_ecg": -45,
            "ecg_transmitted": -44,
            "door": -20,
            "diagnosis": -40,
            "troponin_sampled": -15,
            "troponin_reported": -2,
            "cath_lab_called": 1,
            "cath_lab_ready": 20,
            "cath_lab_arrival": 25,
            "needle_or_balloon": 50,
        },
    )
    # A walk-in through the ED and the CCU, slow: FMC = door, ECG after 12 min, balloon at 100 min.
    refer(
        dr_li_at_county_a,
        a,
        at=T0 + timedelta(hours=3),
        nodes={
            "first_medical_contact": -10,
            "door": -10,
            "first_ecg": 2,
            "diagnosis": 15,
            "ed_entered": -9,
            "ccu_entered": 30,
            "cath_lab_called": 40,
            "cath_lab_ready": 75,
            "cath_lab_arrival": 80,
            "needle_or_balloon": 90,
        },
    )
    # An ambulance arrival whose ECG was not transmitted, passing through the ED.
    refer(
        dr_li_at_county_a,
        a,
        at=T0 + timedelta(hours=6),
        nodes={
            "ems_called": -40,
            "first_medical_contact": -30,
            "first_ecg": -22,
            "door": -5,
            "ed_entered": -4,
            "cath_lab_arrival": 30,
            "needle_or_balloon": 60,
        },
    )

    body = dashboard(page(official_wang), period=QUARTER).json()
    chest = next(p for p in body["pathways"] if p["pathway"] == "chest_pain")
    kpi = {i["key"]: i for i in chest["intervals"]}
    assert (kpi["fmc_to_ecg"]["measured"], kpi["fmc_to_ecg"]["met"], kpi["fmc_to_ecg"]["median"]) == (3, 2, 8.0)
    assert kpi["fmc_to_ecg"]["met_share"] == 0.6667 and kpi["fmc_to_ecg"]["passes"] is False  # < 75%
    assert (kpi["door_to_balloon"]["measured"], kpi["door_to_balloon"]["met"], kpi["door_to_balloon"]["median"]) == (
        3,
        2,
        70.0,
    )
    assert kpi["door_to_balloon"]["p90"] == 94.0  # 65, 70, 100: 70 + 0.8 * 30, as percentile_cont(0.9)
    assert (kpi["ecg_to_diagnosis"]["measured"], kpi["ecg_to_diagnosis"]["met"]) == (2, 1)
    assert (kpi["troponin"]["measured"], kpi["troponin"]["met"]) == (1, 1)
    assert (kpi["cath_lab_activation"]["measured"], kpi["cath_lab_activation"]["met"]) == (2, 1)
    rate = {r["key"]: r for r in chest["rates"]}
    assert (rate["prehospital_ecg"]["denominator"], rate["prehospital_ecg"]["numerator"]) == (2, 1)
    assert (
        rate["bypass_ed_ccu"]["denominator"],
        rate["bypass_ed_ccu"]["numerator"],
        rate["bypass_ed_ccu"]["passes"],
    ) == (2, 1, True)
    assert (rate["bypass_ccu"]["denominator"], rate["bypass_ccu"]["numerator"], rate["bypass_ccu"]["passes"]) == (
        1,
        0,
        False,
    )
    assert {p["pathway"] for p in body["pathways"]} == {"chest_pain", "stroke", "trauma", "poisoning"}


def test_stroke_trauma_and_poisoning_time_nodes_and_configured_targets(
    page, official_wang, dr_li_at_county_a, neurologist_zhou, patient_at_county_a, general_hospital
):
    from tests.factories import DepartmentFactory

    DepartmentFactory(site=general_hospital, code="trauma", specialty="trauma")
    DepartmentFactory(site=general_hospital, code="toxicology", specialty="toxicology")
    UserFactory(
        username="surgeon_ma",
        role="specialist",
        site=general_hospital,
        department=general_hospital.departments.get(code="trauma"),
    )
    UserFactory(
        username="toxicologist_wu",
        role="specialist",
        site=general_hospital,
        department=general_hospital.departments.get(code="toxicology"),
    )
    a = f"Patient/{patient_at_county_a['id']}"
    refer(
        dr_li_at_county_a,
        a,
        at=T0,
        urgency="emergency",
        pathway="stroke",
        nodes={"door": -30, "ct_done": -10, "needle_or_balloon": 20},
    )
    refer(
        dr_li_at_county_a,
        a,
        at=T0,
        urgency="emergency",
        pathway="trauma",
        nodes={"door": -40, "ct_done": -5, "surgery_start": 15},
    )
    refer(
        dr_li_at_county_a,
        a,
        at=T0,
        urgency="emergency",
        pathway="poisoning",
        nodes={"door": -20, "decontamination": -5, "antidote": 15},
    )
    client = page(official_wang)

    body = dashboard(client, period=QUARTER).json()
    kpis = {i["key"]: i for p in body["pathways"] for i in p["intervals"]}
    assert (kpis["door_to_needle"]["median"], kpis["door_to_needle"]["met"], kpis["door_to_needle_goal"]["met"]) == (
        50.0,
        1,
        0,
    )
    assert (kpis["door_to_ct"]["median"], kpis["door_to_ct"]["met"]) == (20.0, 1)
    assert (kpis["trauma_door_to_ct"]["median"], kpis["trauma_door_to_ct"]["met"]) == (35.0, 0)
    assert (kpis["trauma_door_to_surgery"]["median"], kpis["trauma_door_to_surgery"]["met"]) == (55.0, 1)
    assert (kpis["poisoning_door_to_decontamination"]["met"], kpis["poisoning_door_to_antidote"]["median"]) == (1, 35.0)
    with override_settings(KPI_TARGET_MINUTES={"trauma_door_to_ct": 40, "poisoning_door_to_antidote": 40}):
        body = dashboard(client, period=QUARTER).json()
    kpis = {i["key"]: i for p in body["pathways"] for i in p["intervals"]}
    assert (kpis["trauma_door_to_ct"]["target_minutes"], kpis["trauma_door_to_ct"]["met"]) == (40, 1)
    assert kpis["poisoning_door_to_antidote"]["met"] == 1


def test_an_unknown_configured_target_stops_the_hub(settings):
    from hub.dashboards.checks import kpi_targets_check

    settings.KPI_TARGET_MINUTES = {"door_to_lunch": 30}
    assert [e.id for e in kpi_targets_check(None)] == ["dashboards.E001"]
    settings.KPI_TARGET_MINUTES = {"door_to_balloon": 120}
    assert kpi_targets_check(None) == []


def test_each_sites_data_feed_health(page, official_wang, county_a, county_b, general_hospital):
    from django.utils import timezone

    from federation.sites.health import health_failure, health_success

    ok = SiteSync.objects.create(site=county_a, base_url="http://127.0.0.1:9/fhir")
    bad = SiteSync.objects.create(site=county_b, base_url="http://127.0.0.1:9/fhir")
    now = timezone.now()
    health_success(sync=ok, degraded=False, now=now - timedelta(minutes=3))
    for _n in range(3):
        health_failure(sync=bad, error="connection refused", now=now)

    feeds = {f["code"]: f for f in dashboard(page(official_wang)).json()["feed_health"]}
    assert feeds["county-a"]["state"] == "healthy" and 2.9 <= feeds["county-a"]["lag_minutes"] <= 3.5
    assert (
        feeds["county-b"]["state"],
        feeds["county-b"]["consecutive_failures"],
        feeds["county-b"]["recent_errors"],
    ) == ("down", 3, 3)
    assert feeds["general"]["state"] == "" and "alliance" not in feeds


def test_the_old_statistics_api_still_answers_and_leaves_out_drafts_and_test_data(
    api_for, official_wang, admin_of_county_a, network
):
    stats = api_for(official_wang).get("statistics")
    assert stats.status_code == 200 and stats.json()["total"] == 5  # every period, no draft, no test data
    assert api_for(admin_of_county_a).get("statistics").json()["total"] == 3
    assert api_for(admin_of_county_a).get("statistics", site="county-b").status_code == 404


def test_a_time_node_centuries_ago_is_refused_not_stored_with_an_odd_offset(
    api_for, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a
):
    """Found by schemathesis: year 531 in Asia/Shanghai is +08:05:43 local mean time, not an RFC 3339 offset."""
    referral = refer(dr_li_at_county_a, f"Patient/{patient_at_county_a['id']}", at=T0)
    response = api_for(dr_li_at_county_a).post(f"{referral.pk}/time-nodes", {"nodes": {"door": "0531-02-22T17:02:24Z"}})
    assert response.status_code == 400 and response.json()["error"] == "invalid_time_node"
    assert not referral.time_nodes.filter(node="door").exists()
