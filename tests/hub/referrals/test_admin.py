"""The roster, SLA policies and every request's record in the admin."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from hub.referrals.models import OnCallShift


def test_the_admin_manages_the_roster_and_shows_requests(
    client, django_user_model, api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, cardiology
):
    admin = django_user_model.objects.create_superuser("root", "root@alliance.example", "pw-for-tests")
    rid = api_for(dr_li_at_county_a).post("", chest_pain_request).json()["id"]
    client.force_login(admin)

    for path in [
        "referral/",
        f"referral/{rid}/change/",
        "oncallshift/",
        "oncallshift/add/",
        "slapolicy/add/",
        "departmenthead/add/",
        "opinion/",
        "slabreach/",
    ]:
        assert client.get(f"/admin/referrals/{path}").status_code == 200, path

    start = timezone.now()
    response = client.post(
        "/admin/referrals/oncallshift/add/",
        {
            "department": cardiology.pk,
            "primary": cardiologist_zhang.pk,
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": start.strftime("%H:%M:%S"),
            "ends_at_0": (start - timedelta(hours=1)).strftime("%Y-%m-%d"),
            "ends_at_1": (start - timedelta(hours=1)).strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200 and not OnCallShift.objects.exists()  # ends before it starts: refused
