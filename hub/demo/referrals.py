"""Demo referrals: the on-call roster, SLA policies and requests in every state of the workflow.

Idempotent: nothing is created when the demo already holds referrals.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from federation.sites.models import Department
from fhir_gateway.public import ids_owned
from hub.accounts.models import User
from hub.accounts.pins import DEMO_DATA_NO_PIN
from hub.notifications.events import notifications_muted
from hub.referrals import services
from hub.referrals.constants import DEFAULT_ACCEPT_WITHIN
from hub.referrals.models import DepartmentHead, OnCallShift, Referral, SlaPolicy

CONSENT = services.ConsentGiven(method="written", given_by="patient")


def _patients(site_code: str) -> list[str]:
    return [f"Patient/{fhir_id}" for fhir_id in ids_owned(resource_type="Patient", owner=site_code, limit=12)]


def _roster(now) -> None:
    users = {u.username: u for u in User.objects.filter(site__code="general")}
    for code, primary, backup in [
        ("cardiology", "cardiologist_zhang", "cardiologist_liu"),
        ("neurology", "neurologist_zhou", "neurologist_li"),
    ]:
        department = Department.objects.get(site__code="general", code=code)
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(-1, 7):  # 24-hour shifts, alternating primary and backup
            first, second = (primary, backup) if day % 2 == 0 else (backup, primary)
            OnCallShift.objects.create(
                department=department,
                starts_at=start + timedelta(days=day),
                ends_at=start + timedelta(days=day + 1),
                primary=users[first],
                backup=users[second],
            )
        DepartmentHead.objects.get_or_create(department=department, defaults={"head": users[backup]})
    for urgency, within in DEFAULT_ACCEPT_WITHIN.items():
        SlaPolicy.objects.get_or_create(
            urgency=urgency, pathway="", defaults={"accept_within_minutes": int(within.total_seconds() // 60)}
        )
    SlaPolicy.objects.get_or_create(
        urgency="emergency", pathway="stroke", defaults={"accept_within_minutes": 5, "escalate_every_minutes": 5}
    )


@transaction.atomic
def demo_referrals_load() -> int:
    """Create the demo's requests (once); returns how many requests the demo holds."""
    if Referral.objects.exists():
        return Referral.objects.count()
    now = timezone.now()
    _roster(now)
    people = {
        u.username: u
        for u in User.objects.filter(
            username__in=[
                "doctor1_a",
                "doctor2_a",
                "doctor1_b",
                "doctor1_c",
                "cardiologist_zhang",
                "cardiologist_liu",
                "neurologist_zhou",
                "neurologist_li",
                "radiologist_zhao",
                "rehab_huang",
                "doctor2_c",
            ]
        )
    }
    a, b, c = _patients("county-a"), _patients("county-b"), _patients("county-c")
    if len(a) < 10 or not b or not c:
        return 0
    with notifications_muted():
        _requests(people, a, b, c, now)
    return Referral.objects.count()


def _refer(doctor, patient, minutes_ago, **fields):
    defaults = {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "other",
        "target_specialty": "cardiology",
        "clinical_question": "请协助诊治",
        "consent": CONSENT,
    }
    return services.referral_create(
        requester=doctor,
        patient_ref=patient,
        now=fields.pop("now") - timedelta(minutes=minutes_ago),
        **{**defaults, **fields},
    )


def _requests(p, a, b, c, now) -> None:
    li, zhang, zhou = p["doctor1_a"], p["cardiologist_zhang"], p["neurologist_zhou"]
    chest = {
        "pathway": "chest_pain",
        "now": now,
        "clinical_question": "胸痛3小时，心电图II、III、aVF导联ST段抬高，是否转诊行急诊PCI？",
    }
    # draft
    _refer(
        li,
        a[0],
        5,
        submit=False,
        now=now,
        clinical_question="反复头晕1月，头颅CT未见异常，请神经内科会诊",
        target_specialty="neurology",
    )
    # requested (routine, in the cardiology queue)
    _refer(p["doctor1_b"], b[0], 30, urgency="routine", now=now, clinical_question="高血压控制不佳，调整用药方案")
    # received
    r = _refer(li, a[1], 40, **chest)
    services.task_receive(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=38))
    # accepted, awaiting information
    r = _refer(p["doctor2_a"], a[2], 90, now=now, clinical_question="心悸伴胸闷，动态心电图示阵发性房颤")
    services.task_accept(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=80))
    services.task_request_info(
        referral_id=r.pk, actor=r.owner, question="请上传近期甲状腺功能及心脏超声结果", now=now - timedelta(minutes=75)
    )
    # in progress: a scheduled remote consultation with an invited expert
    r = _refer(li, a[3], 120, **chest)
    services.task_accept(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=115))
    services.task_invite(
        referral_id=r.pk, actor=r.owner, invitees=[p["radiologist_zhao"]], now=now - timedelta(minutes=114)
    )
    services.appointment_schedule(
        referral_id=r.pk,
        actor=r.owner,
        starts_at=now + timedelta(minutes=20),
        ends_at=now + timedelta(minutes=50),
        now=now - timedelta(minutes=110),
    )
    # on hold
    r = _refer(
        p["doctor1_c"], c[0], 300, now=now, kind="up_referral", clinical_question="慢性心衰急性加重，申请上转心内科住院"
    )
    services.task_accept(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=290))
    services.task_start(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=280))
    services.task_hold(referral_id=r.pk, actor=r.owner, reason="等待患者家属到场决定", now=now - timedelta(minutes=270))
    # completed with a signed opinion and an addendum (emergency stroke, consent deferred, time nodes)
    stroke = r = _refer(
        li,
        a[4],
        75,
        urgency="emergency",
        pathway="stroke",
        target_specialty="",
        consent=None,
        now=now,
        clinical_question="突发右侧肢体无力、言语不清50分钟，NIHSS 8分，头颅CT排除出血，是否静脉溶栓？",
        time_nodes={
            "symptom_onset": now - timedelta(minutes=125),
            "door": now - timedelta(minutes=85),
            "first_medical_contact": now - timedelta(minutes=100),
        },
    )
    services.task_accept(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=72))
    opinion = services.opinion_sign(
        referral_id=r.pk,
        actor=r.owner,
        title="远程卒中会诊意见",
        conclusion="急性缺血性卒中，发病4.5小时内，无禁忌证，建议立即阿替普酶静脉溶栓。",
        recommendations="溶栓后24小时内复查头颅CT，监测血压<180/105 mmHg。",
        now=now - timedelta(minutes=60),
        pin=DEMO_DATA_NO_PIN,
    )
    services.time_nodes_record(
        referral=r,
        actor=li,
        now=now,
        nodes={"decision": now - timedelta(minutes=58), "needle_or_balloon": now - timedelta(minutes=45)},
    )
    services.opinion_addendum(
        opinion_id=opinion.pk,
        actor=r.owner,
        conclusion="补充：溶栓后注意观察牙龈及消化道出血。",
        now=now - timedelta(minutes=30),
        pin=DEMO_DATA_NO_PIN,
    )
    # completed remote ECG diagnosis
    r = _refer(
        p["doctor1_b"],
        b[1],
        200,
        kind="remote_diagnosis",
        study_kind="ecg",
        now=now,
        clinical_question="请判读心电图：胸闷1天",
    )
    services.task_accept(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=195))
    services.opinion_sign(
        referral_id=r.pk,
        actor=r.owner,
        title="心电图诊断",
        conclusion="窦性心律，一度房室传导阻滞。",
        now=now - timedelta(minutes=185),
        pin=DEMO_DATA_NO_PIN,
    )
    # rejected (declined by everyone in the team)
    r = _refer(li, a[5], 600, urgency="urgent", now=now, clinical_question="下肢静脉曲张，是否手术")
    for person in (r.owner, p["cardiologist_liu"] if r.owner != p["cardiologist_liu"] else zhang):
        services.task_decline(
            referral_id=r.pk, actor=person, reason="非本专业范围，建议血管外科门诊", now=now - timedelta(minutes=590)
        )
    # cancelled
    r = _refer(p["doctor2_a"], a[6], 240, now=now, clinical_question="心律失常待查")
    services.referral_cancel(
        referral_id=r.pk, actor=p["doctor2_a"], reason="患者已自行前往市医院就诊", now=now - timedelta(minutes=200)
    )
    # failed
    r = _refer(
        p["doctor1_c"], c[1], 400, now=now, target_specialty="neurology", clinical_question="癫痫持续状态，请协助用药"
    )
    services.task_accept(referral_id=r.pk, actor=r.owner, now=now - timedelta(minutes=395))
    services.task_fail(
        referral_id=r.pk, actor=r.owner, reason="视频连线中断，患者已由120转运", now=now - timedelta(minutes=380)
    )
    # escalated: an emergency nobody accepted in 10 minutes
    _refer(li, a[7], 25, urgency="emergency", **{**chest, "now": now})
    services.sla_escalate_due(now=now)
    # down-referral to county A for rehabilitation, and one forwarded to a colleague
    services.referral_create(
        requester=stroke.owner,
        kind="down_referral",
        urgency="routine",
        patient_ref=stroke.patient_ref,
        target_site=li.site,
        clinical_question="脑梗死恢复期，转回县医院继续康复",
        consent=CONSENT,
        now=now - timedelta(minutes=50),
        discharge_summary="出院诊断：脑梗死（左侧基底节区）\n出院情况：右侧肢体肌力4级\n出院带药：阿司匹林、阿托伐他汀",
    )
    r = _refer(li, a[9], 15, now=now, clinical_question="晕厥待查，心电图示QT间期延长")
    services.task_forward(
        referral_id=r.pk, actor=r.owner, to_user=zhou, reason="考虑神经源性晕厥", now=now - timedelta(minutes=10)
    )
