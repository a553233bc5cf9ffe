"""A referral or consultation request, who takes part in it, and what happened to it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from federation.sites.constants import Specialty
from hub.referrals.constants import (
    BusinessStatus,
    ConsentState,
    ParticipantRole,
    Pathway,
    ReferralKind,
    RoutingRule,
    StudyKind,
    TaskStatus,
    TimeNode,
    Urgency,
)

USER = settings.AUTH_USER_MODEL


class Referral(models.Model):
    """One request for help: its FHIR ServiceRequest and Task, mirrored in rows for fast queues and locks."""

    uid = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=ReferralKind.choices)
    urgency = models.CharField(_("urgency"), max_length=12, choices=Urgency.choices)
    pathway = models.CharField(_("pathway"), max_length=12, choices=Pathway.choices, default=Pathway.OTHER)
    study_kind = models.CharField(_("study"), max_length=12, choices=StudyKind.choices, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.DRAFT)
    business_status = models.CharField(
        _("business status"), max_length=24, choices=BusinessStatus.choices, blank=True, default=""
    )

    requester = models.ForeignKey(USER, verbose_name=_("requester"), on_delete=models.PROTECT, related_name="+")
    requesting_site = models.ForeignKey(
        "federation.Site", verbose_name=_("requesting site"), on_delete=models.PROTECT, related_name="+"
    )
    target_site = models.ForeignKey(
        "federation.Site", verbose_name=_("target site"), on_delete=models.PROTECT, related_name="+"
    )
    target_specialty = models.CharField(_("target specialty"), max_length=40, choices=Specialty.choices, blank=True)
    target_department = models.ForeignKey(
        "federation.Department",
        verbose_name=_("target department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    named_expert = models.ForeignKey(
        USER, verbose_name=_("named expert"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        USER, verbose_name=_("responsible"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    patient_ref = models.CharField(_("patient"), max_length=100)
    patient_display = models.CharField(_("patient name"), max_length=200, blank=True)
    # The person in the master patient index (golden record id) the patient was when the request was made.
    person_uid = models.CharField(_("person (MPI)"), max_length=64, blank=True)
    clinical_question = models.TextField(_("clinical question"))
    reason = models.TextField(_("reason"), blank=True)
    attachments = models.JSONField(_("attached records"), default=list, blank=True)
    # A request about a patient labelled as test data (FHIR meta.security HTEST): statistics leave it out.
    is_test = models.BooleanField(_("test data"), default=False)
    consent_state = models.CharField(_("consent"), max_length=12, choices=ConsentState.choices)

    service_request_id = models.CharField(_("ServiceRequest id"), max_length=64, blank=True)
    task_id = models.CharField(_("Task id"), max_length=64, blank=True)
    consent_id = models.CharField(_("Consent id"), max_length=64, blank=True)

    created_at = models.DateTimeField(_("created at"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    sla_due_at = models.DateTimeField(_("response due at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    # Once accepted: when the signed opinion is due (``hub.referrals.sla.opinion_target``), then when escalated again.
    opinion_due_at = models.DateTimeField(_("opinion due at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "sla_due_at"], name="referral_status_due"),
            models.Index(fields=["requesting_site", "-created_at"], name="referral_site_created"),
            models.Index(fields=["target_department", "status"], name="referral_department_status"),
            models.Index(fields=["owner", "status"], name="referral_owner_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.patient_display or self.patient_ref} ({self.status})"


class OpenCaseCount(models.Model):
    """How many open requests a person is responsible for, for least-loaded routing.

    Kept by a trigger on the referral table (migration 0005), in the transaction of every insert, update and
    delete that opens, closes or moves a case, whichever code writes it; the rows are never written here.
    """

    user = models.OneToOneField(USER, primary_key=True, on_delete=models.CASCADE, related_name="+")
    open_cases = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("open cases")
        verbose_name_plural = _("open cases")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.open_cases}"


class Participant(models.Model):
    """A person taking part in a request: the requester, the responsible specialist, invited experts."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(USER, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=12, choices=ParticipantRole.choices)
    added_by = models.ForeignKey(
        USER, verbose_name=_("added by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(_("added at"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [models.UniqueConstraint(fields=["referral", "user"], name="referral_participant_unique")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Transition(models.Model):
    """One step of the workflow: who did what, when and why (the Task's history in rows)."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="transitions"
    )
    action = models.CharField(_("action"), max_length=32)
    from_status = models.CharField(_("from"), max_length=12, choices=TaskStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=TaskStatus.choices)
    business_status = models.CharField(_("business status"), max_length=24, blank=True)
    actor = models.ForeignKey(
        USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status} -> {self.to_status}"


class RoutingDecision(models.Model):
    """Who a request was routed to, by which rule, and why."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="routing_decisions"
    )
    rule = models.CharField(_("rule"), max_length=20, choices=RoutingRule.choices)
    department = models.ForeignKey(
        "federation.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assignee = models.ForeignKey(
        USER, verbose_name=_("assignee"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("routing decision")
        verbose_name_plural = _("routing decisions")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.assignee or self.department}"


class TimeNodeRecord(models.Model):
    """A time point of a chest-pain or stroke pathway (symptom onset, door, first ECG, ...)."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="time_nodes"
    )
    node = models.CharField(_("time node"), max_length=24, choices=TimeNode.choices)
    at = models.DateTimeField(_("at"))
    recorded_by = models.ForeignKey(
        USER, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("time node")
        verbose_name_plural = _("time nodes")
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["referral", "node"], name="referral_time_node_unique")]

    def __str__(self) -> str:
        return f"{self.get_node_display()} {self.at:%H:%M}"
