"""The referral pages in a browser's place: each role's worklist, a request made and answered through forms."""

from __future__ import annotations

import pytest
from django.test import Client

from hub.accounts.pins import signing_pin_set
from hub.audit.models import AuditEvent
from hub.referrals.models import Referral
from tests.hub.referrals.conftest import store

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def request_from_county_a(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request) -> Referral:
    response = api_for(dr_li_at_county_a).post("", chest_pain_request)
    assert response.status_code == 201, response.content
    return Referral.objects.get(pk=response.json()["id"])


@pytest.fixture
def request_from_county_b(api_for, dr_zhao_at_county_b, neurologist_zhou, patient_at_county_b) -> Referral:
    response = api_for(dr_zhao_at_county_b).post(
        "",
        {
            "kind": "consultation",
            "urgency": "urgent",
            "pathway": "stroke",
            "patient": f"Patient/{patient_at_county_b['id']}",
            "clinical_question": "右侧肢体无力1小时，是否溶栓？",
            "consent": {"method": "verbal", "given_by": "family"},
        },
    )
    assert response.status_code == 201, response.content
    return Referral.objects.get(pk=response.json()["id"])


def new_request_form(patient: dict, ecg: dict | None = None, **changes) -> dict:
    form = {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "other",
        "study_kind": "",
        "patient": f"Patient/{patient['id']}",
        "clinical_question": "心悸伴胸闷一周，动态心电图示阵发性房颤，请协助制定抗凝方案",
        "reason": "房颤",
        "target_specialty": "cardiology",
        "named_expert": "",
        "target_site": "",
        "attachments_text": "",
        "consent_given": "on",
        "consent_method": "written",
        "consent_given_by": "patient",
        "send": "1",
    }
    if ecg is not None:
        form["records"] = [f"DiagnosticReport/{ecg['id']}"]
    return {**form, **changes}


def test_each_role_sees_exactly_the_requests_the_api_shows_them(
    request_from_county_a,
    request_from_county_b,
    dr_li_at_county_a,
    dr_zhao_at_county_b,
    cardiologist_zhang,
    neurologist_zhou,
    official_wang,
):
    a, b = request_from_county_a.patient_display, request_from_county_b.patient_display
    assert a and b and a != b
    for person, sees, does_not_see in [
        (dr_li_at_county_a, a, b),
        (dr_zhao_at_county_b, b, a),
        (cardiologist_zhang, a, b),
        (neurologist_zhou, b, a),
    ]:
        page = browser(person).get("/referrals/")
        assert page.status_code == 200
        html = page.content.decode()
        assert sees in html, person
        assert does_not_see not in html, person

    refused = browser(official_wang).get("/referrals/")
    assert refused.status_code == 403
    assert a not in refused.content.decode() and b not in refused.content.decode()
    assert 'href="/dashboard/"' in refused.content.decode()
    assert browser(official_wang).get(f"/referrals/{request_from_county_a.pk}/").status_code == 403
    assert browser(official_wang).get("/referrals/statistics/")["Location"] == "/dashboard/"  # the old page
    aggregates = browser(official_wang).get("/dashboard/")
    assert aggregates.status_code == 200
    assert a not in aggregates.content.decode()
    assert aggregates.context["payload"]["summary"]["requests"] == 2


def test_the_worklist_filters_and_puts_the_most_urgent_open_request_first(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, patient_at_county_a
):
    api = api_for(dr_li_at_county_a)
    routine = api.post(
        "", {**chest_pain_request, "pathway": "other", "urgency": "routine", "target_specialty": "cardiology"}
    )
    emergency = api.post("", {**chest_pain_request, "urgency": "emergency"})
    assert routine.status_code == emergency.status_code == 201
    client = browser(dr_li_at_county_a)

    listed = client.get("/referrals/").context["page"].object_list
    assert [r.pk for r in listed] == [emergency.json()["id"], routine.json()["id"]]
    assert [r.pk for r in client.get("/referrals/?urgency=routine").context["page"].object_list] == [
        routine.json()["id"]
    ]
    assert [
        r.pk for r in client.get("/referrals/?pathway=chest_pain&kind=consultation").context["page"].object_list
    ] == [emergency.json()["id"]]
    assert list(client.get("/referrals/?status=completed").context["page"].object_list) == []
    assert client.get("/referrals/?urgency=nonsense").status_code == 200  # an unknown filter is dropped
    fragment = client.get("/referrals/", HTTP_X_FRAGMENT="worklist").content.decode()
    assert "<table" in fragment and "<html" not in fragment


def test_a_county_doctor_sends_a_request_through_the_form_and_the_routed_specialist_sees_it(
    dr_li_at_county_a, cardiologist_zhang, neurologist_zhou, patient_at_county_a, ecg_at_county_a
):
    doctor = browser(dr_li_at_county_a)
    assert doctor.get("/referrals/new/").status_code == 200
    shown = doctor.post("/referrals/new/", {"patient": f"Patient/{patient_at_county_a['id']}", "load_records": "1"})
    assert shown.status_code == 200
    assert f"DiagnosticReport/{ecg_at_county_a['id']}" in shown.content.decode()
    assert not shown.context["form"].errors  # showing the records is not a submission

    sent = doctor.post("/referrals/new/", new_request_form(patient_at_county_a, ecg_at_county_a))

    referral = Referral.objects.get(requester=dr_li_at_county_a)
    assert sent.status_code == 302 and sent["Location"] == f"/referrals/{referral.pk}/"
    assert referral.status == "requested" and referral.target_department.code == "cardiology"
    assert referral.attachments == [f"DiagnosticReport/{ecg_at_county_a['id']}"]
    page = doctor.get(sent["Location"]).content.decode()
    assert "The request was created." in page
    assert referral.clinical_question in page
    assert browser(cardiologist_zhang).get("/referrals/").context["page"].object_list[0].pk == referral.pk
    assert list(browser(neurologist_zhou).get("/referrals/").context["page"].object_list) == []


def test_the_specialist_accepts_and_completes_with_a_signed_opinion_through_the_pages(
    request_from_county_a, cardiologist_zhang, dr_li_at_county_a
):
    specialist = browser(cardiologist_zhang)
    detail = f"/referrals/{request_from_county_a.pk}/"
    assert "/accept/" in specialist.get(detail).content.decode()

    accepted = specialist.post(f"{detail}accept/", follow=True)
    assert "You accepted the request." in accepted.content.decode()
    signing_pin_set(user=cardiologist_zhang, pin="482913")
    written = {
        "opinion-title": "会诊意见",
        "opinion-conclusion": "急性下壁心肌梗死，建议立即转运行急诊PCI",
        "opinion-recommendations": "阿司匹林300mg嚼服",
        "opinion-decision": "pci",
    }
    previewed = specialist.post(f"{detail}opinion/", written).content.decode()  # first a preview, nothing signed
    assert 'id="opinion-preview"' in previewed and "急性下壁心肌梗死" in previewed
    request_from_county_a.refresh_from_db()
    assert request_from_county_a.status == "accepted" and not request_from_county_a.opinions.exists()

    wrong = specialist.post(f"{detail}opinion/", written | {"confirm": "1", "opinion-pin": "000000"}, follow=True)
    assert "The signing PIN is not right." in wrong.content.decode()
    assert 'id="opinion-preview"' in wrong.content.decode() and "阿司匹林300mg嚼服" in wrong.content.decode()  # kept
    assert not request_from_county_a.opinions.exists()

    completed = specialist.post(f"{detail}opinion/", written | {"confirm": "1", "opinion-pin": "482913"}, follow=True)
    assert "The opinion was signed" in completed.content.decode()
    assert "Primary PCI" in completed.content.decode()  # the treatment decision, shown with the opinion
    request_from_county_a.refresh_from_db()
    assert request_from_county_a.status == "completed" and request_from_county_a.owner == cardiologist_zhang
    nodes = set(request_from_county_a.time_nodes.values_list("node", flat=True))
    assert {"decision", "cath_lab_called"} <= nodes  # the decision filled the pathway's times

    opinion = request_from_county_a.opinions.get()
    addendum = {"addendum-opinion": opinion.pk, "addendum-conclusion": "复查肌钙蛋白"}
    page = specialist.get(detail).content.decode()
    assert 'name="addendum-pin"' in page and 'type="password"' in page  # an addendum is signed too
    unsigned = specialist.post(f"{detail}addendum/", addendum, follow=True).content.decode()
    assert "This field is required." in unsigned and "复查肌钙蛋白" in unsigned  # kept, nothing signed
    wrong = specialist.post(f"{detail}addendum/", addendum | {"addendum-pin": "000000"}).content.decode()
    assert "The signing PIN is not right." in wrong and "复查肌钙蛋白" in wrong  # the form again, with what was written
    assert request_from_county_a.opinions.count() == 1
    added = specialist.post(f"{detail}addendum/", addendum | {"addendum-pin": "482913"}, follow=True)
    assert "The addendum was signed." in added.content.decode()
    assert request_from_county_a.opinions.count() == 2

    seen_by_requester = browser(dr_li_at_county_a).get(detail).content.decode()
    assert "急性下壁心肌梗死" in seen_by_requester and "复查肌钙蛋白" in seen_by_requester
    assert "Completed with a signed opinion" in seen_by_requester  # the history


def test_a_doctor_of_county_b_cannot_see_county_as_request(request_from_county_a, dr_zhao_at_county_b):
    other = browser(dr_zhao_at_county_b)
    assert other.get(f"/referrals/{request_from_county_a.pk}/").status_code == 404
    assert other.post(f"/referrals/{request_from_county_a.pk}/cancel/", {"cancel-reason": "x"}).status_code == 404
    assert request_from_county_a.patient_display not in other.get("/referrals/").content.decode()


def test_bad_input_shows_the_errors_beside_the_form_never_an_error_page(
    dr_li_at_county_a, cardiologist_zhang, patient_at_county_a, patient_at_county_b, request_from_county_a
):
    doctor = browser(dr_li_at_county_a)

    empty = doctor.post("/referrals/new/", {"send": "1"})
    assert empty.status_code == 200
    assert {"patient", "clinical_question"} <= set(empty.context["form"].errors)

    not_ours = doctor.post("/referrals/new/", new_request_form(patient_at_county_b))
    assert not_ours.status_code == 200
    assert "No such patient at your site." in not_ours.content.decode()

    no_consent = doctor.post("/referrals/new/", new_request_form(patient_at_county_a, consent_given=""))
    assert no_consent.status_code == 200
    assert "consent is required" in str(no_consent.context["form"].errors["consent_given"])

    bad_record = doctor.post("/referrals/new/", new_request_form(patient_at_county_a, attachments_text="Patient/1"))
    assert bad_record.status_code == 200 and "cannot be attached" in bad_record.content.decode()
    assert not Referral.objects.exclude(pk=request_from_county_a.pk).exists()

    no_reason = browser(cardiologist_zhang).post(
        f"/referrals/{request_from_county_a.pk}/decline/", {"decline-reason": ""}
    )
    assert no_reason.status_code == 200
    assert no_reason.context["failed_action"] == "decline"
    assert "This field is required." in no_reason.content.decode()


def test_an_illegal_step_is_refused_with_a_message_on_the_requests_page(
    request_from_county_a, cardiologist_zhang, dr_li_at_county_a
):
    specialist = browser(cardiologist_zhang)
    detail = f"/referrals/{request_from_county_a.pk}/"
    specialist.post(f"{detail}accept/")

    again = specialist.post(f"{detail}accept/", follow=True)
    assert again.redirect_chain == [(detail, 302)]
    assert "has already accepted this request" in again.content.decode()

    too_early = specialist.post(f"{detail}resume/", follow=True)
    assert "Cannot resume a request that is accepted." in too_early.content.decode()

    not_the_requester = specialist.post(f"{detail}cancel/", {"cancel-reason": "重复申请"}, follow=True)
    assert "Only the requesting doctor may do this." in not_the_requester.content.decode()
    request_from_county_a.refresh_from_db()
    assert request_from_county_a.status == "accepted"


def test_each_page_view_of_a_request_is_in_the_audit_trail(request_from_county_a, cardiologist_zhang):
    before = AuditEvent.objects.filter(actor_id=str(cardiologist_zhang.pk)).count()
    assert before == 0

    browser(cardiologist_zhang).get(f"/referrals/{request_from_county_a.pk}/")
    browser(cardiologist_zhang).get("/referrals/")

    rows = AuditEvent.objects.filter(actor_id=str(cardiologist_zhang.pk), success=True)
    patient = request_from_county_a.patient_ref
    assert rows.filter(action="read", resource_type="ServiceRequest", patient=patient, detail__page="detail").exists()
    assert rows.filter(action="read", resource_type="Patient", patient=patient).exists()  # the patient summary
    assert rows.filter(
        action="search", resource_type="ServiceRequest", patient=patient, detail__page="worklist"
    ).exists()
    assert all(row.actor_site == "general" for row in rows)


def test_the_pages_are_linked_and_listen_for_live_notifications(dr_li_at_county_a, official_wang):
    home = browser(dr_li_at_county_a).get("/").content.decode()
    assert 'href="/referrals/"' in home and 'href="/referrals/new/"' in home
    assert "web/notifications.js" in home and 'id="live-notifications"' in home
    assert 'href="/dashboard/"' in browser(official_wang).get("/").content.decode()
    signed_out = Client().get("/referrals/")
    assert signed_out.status_code == 302 and signed_out["Location"] == "/login/?next=/referrals/"


def test_a_specialist_refers_a_patient_back_down_through_the_form(request_from_county_a, cardiologist_zhang, county_a):
    specialist = browser(cardiologist_zhang)
    form = specialist.get("/referrals/new/").context["form"]
    assert [k for k, _label in form.fields["kind"].choices] == ["down_referral"]
    sent = specialist.post(
        "/referrals/new/",
        {
            "kind": "down_referral",
            "urgency": "routine",
            "pathway": "other",
            "patient": request_from_county_a.patient_ref,
            "clinical_question": "PCI术后病情稳定，转回县医院康复",
            "target_site": "county-a",
            "discharge_summary": "急性下壁心肌梗死，PCI术后第5天，生命体征平稳",
            "consent_given": "on",
            "consent_method": "written",
            "consent_given_by": "patient",
            "send": "1",
        },
    )
    assert sent.status_code == 302, sent.context["form"].errors if sent.context else sent
    down = Referral.objects.get(kind="down_referral")
    assert down.target_site == county_a and down.requester == cardiologist_zhang


def test_a_draft_is_saved_then_sent_from_its_page(dr_li_at_county_a, cardiologist_zhang, patient_at_county_a):
    doctor = browser(dr_li_at_county_a)
    saved = doctor.post("/referrals/new/", {**new_request_form(patient_at_county_a), "save_draft": "1"})
    draft = Referral.objects.get()
    assert saved.status_code == 302 and draft.status == "draft"
    assert browser(cardiologist_zhang).get(f"/referrals/{draft.pk}/").status_code == 404

    doctor.post(f"/referrals/{draft.pk}/submit/")
    draft.refresh_from_db()
    assert draft.status == "requested"
    assert browser(cardiologist_zhang).get(f"/referrals/{draft.pk}/").status_code == 200


def test_the_requesting_side_answers_a_question_with_the_patients_records(
    request_from_county_a, cardiologist_zhang, dr_li_at_county_a, patient_at_county_a
):
    echo = store(
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "心脏超声"},
            "subject": {"reference": f"Patient/{patient_at_county_a['id']}"},
            "conclusion": "左室射血分数 45%",
        },
        owner="county-a",
    )
    detail = f"/referrals/{request_from_county_a.pk}/"
    specialist = browser(cardiologist_zhang)
    specialist.post(f"{detail}accept/")
    specialist.post(f"{detail}request_info/", {"request_info-question": "请上传心脏超声"})

    doctor = browser(dr_li_at_county_a)
    page = doctor.get(detail)
    assert f"DiagnosticReport/{echo['id']}" in page.content.decode()  # offered as a checkbox
    answered = doctor.post(
        f"{detail}provide_info/",
        {"provide_info-records": [f"DiagnosticReport/{echo['id']}"], "provide_info-note": "已上传"},
        follow=True,
    )
    assert "The information was added." in answered.content.decode()
    request_from_county_a.refresh_from_db()
    assert f"DiagnosticReport/{echo['id']}" in request_from_county_a.attachments
    assert request_from_county_a.business_status == ""


def test_an_overdue_request_shows_its_breach_and_the_escalation_in_its_history(
    request_from_county_a, dr_li_at_county_a, cardiologist_zhang
):
    from datetime import timedelta

    from hub.referrals import services

    breach = services.sla_escalate(
        referral_id=request_from_county_a.pk, now=request_from_county_a.sla_due_at + timedelta(minutes=1)
    )
    assert breach is not None

    for person in (dr_li_at_county_a, cardiologist_zhang):
        page = browser(person).get(f"/referrals/{request_from_county_a.pk}/")
        assert page.status_code == 200
        assert "Escalated (response overdue)" in page.content.decode()
        assert "SLA breaches" in page.content.decode()
    listed = browser(dr_li_at_county_a).get("/referrals/").content.decode()
    assert "1 SLA breach" in listed
