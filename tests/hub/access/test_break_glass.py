"""Break the glass: an emergency clinician opens a record with a reason, for a while, flagged and reviewed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone

from hub.access.models import AccessGrant
from hub.audit.models import AuditEvent
from tests.factories import DepartmentFactory, UserFactory

REASON = "急诊：昏迷患者，需查既往史和过敏史"


@pytest.fixture
def emergency_doctor(general_hospital):
    """Dr Sun of the general hospital's emergency department."""
    emergency = DepartmentFactory(site=general_hospital, code="emergency", name="急诊科", specialty="emergency")
    return UserFactory(
        username="dr_sun", display_name="孙急诊", role="specialist", site=general_hospital, department=emergency
    )


@pytest.fixture
def admin_with_mail(admin_of_county_a):
    admin_of_county_a.email = "admin-a@county-a.example"
    admin_of_county_a.save()
    return admin_of_county_a


def _open(client, headers, patient_ref, reason=REASON):
    return client.post(
        "/api/access/break-glass",
        {"patient": patient_ref, "reason": reason},
        content_type="application/json",
        **headers,
    )


def test_an_emergency_clinician_opens_a_record_with_a_reason_and_the_site_admin_is_told(
    client, emergency_doctor, admin_with_mail, patient_at_county_a, token_for, django_capture_on_commit_callbacks
):
    headers = token_for(emergency_doctor)
    url = f"/fhir/Patient/{patient_at_county_a['id']}"
    assert client.get(url, **headers).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        opened = _open(client, headers, f"Patient/{patient_at_county_a['id']}")

    assert opened.status_code == 201, opened.content
    grant = opened.json()
    assert grant["review"] == "pending" and grant["patient_site"] == "county-a"
    assert client.get(url, **headers).status_code == 200
    flagged = AuditEvent.objects.filter(actor_id=str(emergency_doctor.pk), detail__break_glass=str(grant["id"]))
    assert {e.action for e in flagged} >= {"operation", "read"}  # the opening, and the read under it
    assert [m.to for m in mail.outbox] == [["admin-a@county-a.example"]]


def test_it_is_refused_without_a_reason_to_others_and_for_no_patient(
    client, emergency_doctor, dr_zhao_at_county_b, patient_at_county_a, token_for
):
    ref = f"Patient/{patient_at_county_a['id']}"
    assert _open(client, token_for(emergency_doctor), ref, reason="x").status_code == 400
    assert _open(client, token_for(dr_zhao_at_county_b), ref).status_code == 403  # not an emergency clinician
    assert _open(client, token_for(emergency_doctor), "Patient/nobody").status_code == 404
    assert AccessGrant.objects.count() == 0


def test_a_county_doctor_given_the_permission_may_break_the_glass(
    client, dr_zhao_at_county_b, patient_at_county_a, token_for
):
    dr_zhao_at_county_b.user_permissions.add(Permission.objects.get(codename="break_glass"))

    assert _open(client, token_for(dr_zhao_at_county_b), f"Patient/{patient_at_county_a['id']}").status_code == 201


def test_the_record_closes_when_the_time_is_up(client, emergency_doctor, patient_at_county_a, token_for):
    headers = token_for(emergency_doctor)
    _open(client, headers, f"Patient/{patient_at_county_a['id']}")
    AccessGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.get(f"/fhir/Patient/{patient_at_county_a['id']}", **headers).status_code == 404


def test_the_patients_site_admin_reviews_each_use_and_a_report_closes_it(
    client, emergency_doctor, admin_of_county_a, county_b, patient_at_county_a, token_for
):
    doctor = token_for(emergency_doctor)
    first = _open(client, doctor, f"Patient/{patient_at_county_a['id']}").json()
    admin_b = UserFactory(username="admin_b", role="site_admin", site=county_b, is_staff=True)
    admin = token_for(admin_of_county_a)

    listed = client.get("/api/access/break-glass/reviews?status=pending", **admin).json()
    assert [g["id"] for g in listed["results"]] == [first["id"]]
    assert listed["results"][0]["reason"] == REASON
    assert client.get("/api/access/break-glass/reviews", **token_for(admin_b)).json()["count"] == 0
    assert client.get("/api/access/break-glass/reviews", **doctor).status_code == 403
    refused = client.post(
        f"/api/access/break-glass/reviews/{first['id']}", {"decision": "confirmed"}, content_type="application/json",
        **token_for(admin_b),
    )  # fmt: skip
    assert refused.status_code == 404

    reported = client.post(
        f"/api/access/break-glass/reviews/{first['id']}",
        {"decision": "reported", "note": "无急诊就诊记录"},
        content_type="application/json",
        **admin,
    )

    assert reported.status_code == 200 and reported.json()["review"] == "reported"
    assert client.get(f"/fhir/Patient/{patient_at_county_a['id']}", **doctor).status_code == 404
    again = client.post(
        f"/api/access/break-glass/reviews/{first['id']}", {"decision": "confirmed"}, content_type="application/json",
        **admin,
    )  # fmt: skip
    assert again.status_code == 409


def test_the_web_form_opens_the_record_and_the_review_page_lists_it(
    client, emergency_doctor, admin_of_county_a, patient_at_county_a
):
    page = f"/access/patients/{patient_at_county_a['id']}/"
    client.force_login(emergency_doctor)
    form = client.get(page)
    assert form.status_code == 200 and b'name="reason"' in form.content
    unknown = client.get("/access/patients/nobody/")
    assert unknown.status_code == 200 and b'name="reason"' in unknown.content  # the same form: nothing told

    opened = client.post(page, {"reason": REASON}, follow=True)

    assert opened.status_code == 200
    assert patient_at_county_a["name"][0]["family"].encode() in opened.content
    client.force_login(admin_of_county_a)
    reviews = client.get("/access/reviews/")
    assert REASON.encode() in reviews.content
    decided = client.post(f"/access/reviews/{AccessGrant.objects.get().pk}/", {"decision": "confirmed"}, follow=True)
    assert AccessGrant.objects.get().review_status == "confirmed" and decided.status_code == 200


def test_others_get_no_patient_page(client, dr_zhao_at_county_b, patient_at_county_a):
    client.force_login(dr_zhao_at_county_b)

    assert client.get(f"/access/patients/{patient_at_county_a['id']}/").status_code == 404
