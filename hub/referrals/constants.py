"""Choices of the referral workflow: kinds, urgency, pathways and FHIR Task states."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from federation.sites.constants import Specialty


class ReferralKind(models.TextChoices):
    UP = "up_referral", _("Up-referral")
    DOWN = "down_referral", _("Down-referral")
    CONSULTATION = "consultation", _("Remote consultation")
    DIAGNOSIS = "remote_diagnosis", _("Remote diagnosis")


class Urgency(models.TextChoices):
    EMERGENCY = "emergency", pgettext_lazy("urgency", "Emergency")
    URGENT = "urgent", pgettext_lazy("urgency", "Urgent")
    ROUTINE = "routine", pgettext_lazy("urgency", "Routine")


class Pathway(models.TextChoices):
    CHEST_PAIN = "chest_pain", _("Chest pain")
    STROKE = "stroke", _("Stroke")
    TRAUMA = "trauma", _("Trauma")
    POISONING = "poisoning", _("Poisoning")
    OTHER = "other", _("Other")


class StudyKind(models.TextChoices):
    """What a remote diagnosis reads."""

    ECG = "ecg", _("ECG")
    IMAGING = "imaging", _("Imaging")
    ULTRASOUND = "ultrasound", _("Ultrasound")


class TaskStatus(models.TextChoices):
    """FHIR Task.status (http://hl7.org/fhir/R4/valueset-task-status.html)."""

    DRAFT = "draft", _("Draft")
    REQUESTED = "requested", _("Requested")
    RECEIVED = "received", _("Received")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    IN_PROGRESS = "in-progress", _("In progress")
    ON_HOLD = "on-hold", _("On hold")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class BusinessStatus(models.TextChoices):
    NONE = "", _("None")
    AWAITING_INFORMATION = "awaiting-information", _("Awaiting information")


class ConsentState(models.TextChoices):
    GIVEN = "given", _("Given")
    DEFERRED = "deferred", _("Deferred (emergency)")


class ParticipantRole(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    OWNER = "owner", _("Responsible specialist")
    EXPERT = "expert", _("Invited expert")
    COUNTY = "county", _("County participant")


class RoutingRule(models.TextChoices):
    NAMED_EXPERT = "named_expert", _("Named expert")
    ON_CALL = "on_call", _("On-call roster")
    DEPARTMENT_QUEUE = "department_queue", _("Department queue")
    LOAD = "load", _("Fewest open cases")
    FORWARD = "forward", _("Forwarded by a colleague")
    ESCALATION = "escalation", _("SLA escalation")


class TimeNode(models.TextChoices):
    """Time points of the chest-pain and stroke pathways, in their order."""

    SYMPTOM_ONSET = "symptom_onset", _("Symptom onset")
    FIRST_MEDICAL_CONTACT = "first_medical_contact", _("First medical contact")
    DOOR = "door", _("Door (arrival)")
    FIRST_ECG = "first_ecg", _("First ECG")
    ECG_TRANSMITTED = "ecg_transmitted", _("ECG transmitted")
    CONSULT_REQUESTED = "consult_requested", _("Consultation requested")
    EXPERT_JOINED = "expert_joined", _("Expert joined")
    DIAGNOSIS = "diagnosis", _("Diagnosis")
    DECISION = "decision", _("Treatment decision")
    NEEDLE_OR_BALLOON = "needle_or_balloon", _("Needle or balloon")
    DOOR_OUT = "door_out", _("Door out")


OPEN_STATUSES = frozenset(
    {TaskStatus.REQUESTED, TaskStatus.RECEIVED, TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD}
)
UNACCEPTED_STATUSES = frozenset({TaskStatus.REQUESTED, TaskStatus.RECEIVED})
TERMINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.REJECTED, TaskStatus.FAILED})

# Which department answers each time-critical pathway, and who is on call for it.
PATHWAY_SPECIALTY: dict[str, str] = {
    Pathway.CHEST_PAIN: Specialty.CARDIOLOGY,
    Pathway.STROKE: Specialty.NEUROLOGY,
    Pathway.TRAUMA: Specialty.TRAUMA,
    Pathway.POISONING: Specialty.TOXICOLOGY,
}
TIME_CRITICAL_PATHWAYS = frozenset({Pathway.CHEST_PAIN, Pathway.STROKE})

# Response targets when no SLA policy row says otherwise.
DEFAULT_ACCEPT_WITHIN: dict[str, timedelta] = {
    Urgency.EMERGENCY: timedelta(minutes=10),
    Urgency.URGENT: timedelta(hours=2),
    Urgency.ROUTINE: timedelta(hours=48),
}

# FHIR request priority (http://hl7.org/fhir/R4/valueset-request-priority.html).
FHIR_PRIORITY = {Urgency.EMERGENCY: "stat", Urgency.URGENT: "urgent", Urgency.ROUTINE: "routine"}

# National targets the dashboard compares pathway intervals with: (from, to, minutes, strictly less, label).
PATHWAY_TARGETS: dict[str, list[tuple[str, str, int, bool, str]]] = {
    Pathway.CHEST_PAIN: [
        (TimeNode.FIRST_MEDICAL_CONTACT, TimeNode.FIRST_ECG, 10, True, "FMC-to-ECG < 10 min"),
        (TimeNode.DOOR, TimeNode.NEEDLE_OR_BALLOON, 90, False, "door-to-balloon <= 90 min"),
    ],
    Pathway.STROKE: [
        (TimeNode.DOOR, TimeNode.NEEDLE_OR_BALLOON, 60, False, "door-to-needle <= 60 min"),
        (TimeNode.DOOR, TimeNode.NEEDLE_OR_BALLOON, 45, False, "door-to-needle goal <= 45 min"),
    ],
}

# Identifier systems of the hub's own FHIR records.
REFERRAL_ID_SYSTEM = "urn:alliance-hub:referral"
OPINION_ID_SYSTEM = "urn:alliance-hub:opinion"
USER_ID_SYSTEM = "urn:alliance-hub:user"
# The person (the master patient index's golden record) a request's patient is, on its ServiceRequest and Task.
PERSON_EXTENSION_URL = "urn:alliance-hub:extension:mpi-person"
PERSON_ID_SYSTEM = "urn:alliance-hub:mpi-person"
