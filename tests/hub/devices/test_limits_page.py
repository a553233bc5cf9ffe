"""The live page's alarm limits: each parameter's low and high limit, the age group's default or the patient's
own; the treating clinicians change them there (the same service and rule as the API, audited), with the
reasons for a refused value shown in its row; others see them read-only, or nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from hub.audit.models import AuditEvent
from hub.devices.models import Threshold

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def limits_url(patient) -> str:
    return f"/devices/patients/{patient['id']}/limits/"


def live_url(patient) -> str:
    return f"/devices/patients/{patient['id']}/live/"


def test_the_county_doctor_sees_the_defaults_and_saves_the_patients_own(as_user, patient, dr_li_at_county_a):
    client = as_user(dr_li_at_county_a)
    page = client.get(live_url(patient), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="dv-limits"' in page and 'name="parameter" value="hr"' in page
    assert page.count('data-own="false"') >= 5 and 'data-own="true"' not in page  # an adult's defaults

    answer = client.post(limits_url(patient), {"parameter": "hr", "low": "45", "high": "110"})

    assert answer.status_code == 302 and answer["Location"].endswith("/live/#dv-limits")
    threshold = Threshold.objects.get(patient_ref=f"Patient/{patient['id']}", parameter="hr")
    assert (threshold.low, threshold.high, threshold.updated_by) == (45, 110, dr_li_at_county_a)
    page = client.get(live_url(patient)).content.decode()
    assert 'data-parameter="hr"' in page and 'value="110"' in page and 'data-own="true"' in page
    audited = AuditEvent.objects.filter(patient=f"Patient/{patient['id']}", detail__operation="devices-alarm-limits")
    assert audited.filter(success=True, detail__parameter="hr", detail__high=110).count() == 1


@pytest.mark.parametrize(
    ("low", "high", "says"),
    [
        ("120", "100", "The low limit must be below the high limit."),
        ("60", "60", "The low limit must be below the high limit."),
        ("40", "900", "Heart rate limits are between 0 and 350."),
        ("-5", "", "Heart rate limits are between 0 and 350."),
        ("abc", "100", "Enter a number, or leave it empty for no limit."),
    ],
)
def test_impossible_limits_are_refused_in_their_row(as_user, patient, dr_li_at_county_a, low, high, says):
    answer = as_user(dr_li_at_county_a).post(
        limits_url(patient), {"parameter": "hr", "low": low, "high": high}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    row = page[page.index('data-parameter="hr"') :]
    row = row[: row.index("</form>")]
    assert 'class="dv-limit-error error"' in row and says in row and 'aria-invalid="true"' in row
    assert f'value="{low}"' in row  # what was typed stays, to be corrected
    assert not Threshold.objects.exists()


def test_the_errors_are_in_chinese_for_a_chinese_user(as_user, patient, dr_li_at_county_a):
    answer = as_user(dr_li_at_county_a).post(
        limits_url(patient), {"parameter": "hr", "low": "120", "high": "100"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert answer.status_code == 400 and "下限必须低于上限。" in answer.content.decode()


def test_the_api_refuses_impossible_limits_alike(patient, dr_li_at_county_a, token_for):
    answer = Client().put(
        f"/api/devices/patients/{patient['id']}/thresholds/spo2",
        {"low": 90, "high": 101},
        content_type="application/json",
        **token_for(dr_li_at_county_a),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "impossible_value"
    assert not Threshold.objects.exists()


def test_those_not_treating_the_patient_cannot_change_the_limits(
    as_user, patient, admin_of_county_a, neurologist_zhou, dr_zhao_at_county_b
):
    # The site's administrator may open the monitor but not change limits: read-only, and a 403
    page = as_user(admin_of_county_a).get(live_url(patient)).content.decode()
    assert 'data-parameter="hr"' in page and 'name="low"' not in page and '<form class="dv-limit' not in page
    assert (
        as_user(admin_of_county_a).post(limits_url(patient), {"parameter": "hr", "low": "1", "high": "300"}).status_code
        == 403
    )
    # Clinicians who may not read the patient learn nothing of them: 404
    for outsider in (neurologist_zhou, dr_zhao_at_county_b):
        answer = as_user(outsider).post(limits_url(patient), {"parameter": "hr", "low": "1", "high": "300"})
        assert answer.status_code == 404
    assert Client().post(limits_url(patient), {"parameter": "hr", "low": "1", "high": "300"}).status_code == 302
    assert not Threshold.objects.exists()
    refused = AuditEvent.objects.filter(detail__operation="devices-alarm-limits", success=False)
    assert sorted(refused.values_list("status", flat=True)) == [403, 404, 404]


def test_back_to_the_defaults_on_the_page_and_by_the_api(as_user, patient, dr_li_at_county_a, token_for):
    client = as_user(dr_li_at_county_a)
    client.post(limits_url(patient), {"parameter": "hr", "low": "45", "high": "110"})
    client.post(limits_url(patient), {"parameter": "spo2", "low": "88", "high": ""})
    answer = client.post(limits_url(patient), {"parameter": "hr", "reset": "1"})
    assert answer.status_code == 302
    assert list(Threshold.objects.values_list("parameter", flat=True)) == ["spo2"]
    page = client.get(live_url(patient)).content.decode()
    assert "The age group&#x27;s default limits apply again." in page or "恢复" in page
    api = Client().delete(f"/api/devices/patients/{patient['id']}/thresholds/spo2", **token_for(dr_li_at_county_a))
    assert api.status_code == 204
    assert not Threshold.objects.exists()
    # An unknown parameter: 404, as for setting one
    api = Client().delete(f"/api/devices/patients/{patient['id']}/thresholds/nope", **token_for(dr_li_at_county_a))
    assert api.status_code == 404
    resets = AuditEvent.objects.filter(detail__operation="devices-alarm-limits", detail__reset=True, success=True)
    assert resets.count() == 2
