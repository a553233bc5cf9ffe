"""Choices of the referral workflow: kinds, urgency, pathways and FHIR Task states."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

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
    """Time points of the time-critical pathways (chest pain, stroke, trauma, poisoning), in their order.

    Some also tell how the patient came and went: ``ems_called`` recorded means an ambulance (120) arrival,
    ``ed_entered`` / ``ccu_entered`` recorded means the patient passed through the ED / the CCU (the chest-pain
    centre's bypass rates count the patients who reached the cath lab without them).
    """

    SYMPTOM_ONSET = "symptom_onset", _("Symptom onset")
    EMS_CALLED = "ems_called", _("Ambulance (120) called")
    FIRST_MEDICAL_CONTACT = "first_medical_contact", _("First medical contact")
    FIRST_ECG = "first_ecg", _("First ECG")
    ECG_TRANSMITTED = "ecg_transmitted", _("ECG transmitted")
    DOOR = "door", _("Door (arrival)")
    ED_ENTERED = "ed_entered", _("Entered the emergency department")
    CONSULT_REQUESTED = "consult_requested", _("Consultation requested")
    EXPERT_JOINED = "expert_joined", _("Expert joined")
    TROPONIN_SAMPLED = "troponin_sampled", _("Troponin sampled")
    TROPONIN_REPORTED = "troponin_reported", _("Troponin reported")
    CT_DONE = "ct_done", _("CT done")
    DIAGNOSIS = "diagnosis", _("Diagnosis")
    DECISION = "decision", _("Treatment decision")
    CATH_LAB_CALLED = "cath_lab_called", _("Cath lab activation called")
    CATH_LAB_READY = "cath_lab_ready", _("Cath lab ready")
    CCU_ENTERED = "ccu_entered", _("Entered the CCU")
    CATH_LAB_ARRIVAL = "cath_lab_arrival", _("Arrived in the cath lab")
    NEEDLE_OR_BALLOON = "needle_or_balloon", _("Needle or balloon")
    DECONTAMINATION = "decontamination", _("Decontamination (gastric lavage) started")
    ANTIDOTE = "antidote", _("Antidote given")
    SURGERY_START = "surgery_start", _("Emergency surgery started")
    DOOR_OUT = "door_out", _("Door out")


class TreatmentDecision(models.TextChoices):
    """What the specialist decided with the opinion (recorded with it; fills the pathway's decision times)."""

    PCI = "pci", _("Primary PCI")
    THROMBOLYSIS = "thrombolysis", _("Thrombolysis")
    TRANSFER = "transfer", _("Transfer to the general hospital")
    CONSERVATIVE = "conservative", _("Conservative treatment")


def decision_time_nodes(decision: str) -> tuple[str, ...]:
    """The time nodes a decision fills at the moment it is signed (a PCI calls the cath lab)."""
    if not decision:
        return ()
    if decision == TreatmentDecision.PCI:
        return (TimeNode.DECISION, TimeNode.CATH_LAB_CALLED)
    return (TimeNode.DECISION,)


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

# How soon the signed opinion must follow the acceptance when no SLA policy row says otherwise (the dashboard's
# opinion targets, counted from the acceptance here).
DEFAULT_OPINION_WITHIN: dict[str, timedelta] = {
    Urgency.EMERGENCY: timedelta(minutes=60),
    Urgency.URGENT: timedelta(hours=8),
    Urgency.ROUTINE: timedelta(hours=72),
}

# FHIR request priority (http://hl7.org/fhir/R4/valueset-request-priority.html).
FHIR_PRIORITY = {Urgency.EMERGENCY: "stat", Urgency.URGENT: "urgent", Urgency.ROUTINE: "routine"}


class IntervalTarget(NamedTuple):
    """A pathway interval and its target: from one time node to another within ``minutes``.

    ``required_share``: the share of patients that must meet it (the Chest Pain Center's 75%), None when the
    standard sets none. ``key`` names it in ``KPI_TARGET_MINUTES`` (settings), which may change ``minutes``.
    """

    key: str
    start: str
    end: str
    minutes: int
    strict: bool  # "< minutes" rather than "<= minutes"
    label: str
    required_share: float | None = None


# National targets (China's Chest Pain Center re-certification, stroke and trauma centre standards) that the
# request page and the dashboard compare pathway intervals with; trauma and poisoning ones are the alliance's
# defaults. ``hub.referrals.sla.pathway_targets`` applies the configured minutes.
PATHWAY_TARGETS: dict[str, list[IntervalTarget]] = {
    Pathway.CHEST_PAIN: [
        IntervalTarget(
            "fmc_to_ecg", TimeNode.FIRST_MEDICAL_CONTACT, TimeNode.FIRST_ECG, 10, True, _("FMC-to-ECG < 10 min"), 0.75
        ),
        IntervalTarget(
            "ecg_to_diagnosis", TimeNode.FIRST_ECG, TimeNode.DIAGNOSIS, 10, True, _("First ECG to diagnosis < 10 min")
        ),
        IntervalTarget(
            "troponin",
            TimeNode.TROPONIN_SAMPLED,
            TimeNode.TROPONIN_REPORTED,
            20,
            False,
            _("Point-of-care troponin <= 20 min"),
        ),
        IntervalTarget(
            "door_to_balloon",
            TimeNode.DOOR,
            TimeNode.NEEDLE_OR_BALLOON,
            90,
            False,
            _("door-to-balloon <= 90 min"),
            0.75,
        ),
        IntervalTarget(
            "cath_lab_activation",
            TimeNode.CATH_LAB_CALLED,
            TimeNode.CATH_LAB_READY,
            30,
            True,
            _("Cath-lab activation < 30 min"),
        ),
        IntervalTarget(
            "door_in_door_out", TimeNode.DOOR, TimeNode.DOOR_OUT, 30, False, _("Door-in-door-out <= 30 min")
        ),
    ],
    Pathway.STROKE: [
        IntervalTarget("door_to_ct", TimeNode.DOOR, TimeNode.CT_DONE, 25, False, _("Door-to-CT <= 25 min")),
        IntervalTarget(
            "door_to_needle", TimeNode.DOOR, TimeNode.NEEDLE_OR_BALLOON, 60, False, _("door-to-needle <= 60 min")
        ),
        IntervalTarget(
            "door_to_needle_goal",
            TimeNode.DOOR,
            TimeNode.NEEDLE_OR_BALLOON,
            45,
            False,
            _("door-to-needle goal <= 45 min"),
        ),
    ],
    Pathway.TRAUMA: [
        IntervalTarget("trauma_door_to_ct", TimeNode.DOOR, TimeNode.CT_DONE, 30, False, _("Door-to-CT <= 30 min")),
        IntervalTarget(
            "trauma_door_to_surgery",
            TimeNode.DOOR,
            TimeNode.SURGERY_START,
            60,
            False,
            _("Door-to-emergency surgery <= 60 min"),
        ),
        IntervalTarget(
            "trauma_door_in_door_out", TimeNode.DOOR, TimeNode.DOOR_OUT, 60, False, _("Door-in-door-out <= 60 min")
        ),
    ],
    Pathway.POISONING: [
        IntervalTarget(
            "poisoning_door_to_decontamination",
            TimeNode.DOOR,
            TimeNode.DECONTAMINATION,
            30,
            False,
            _("Door-to-decontamination <= 30 min"),
        ),
        IntervalTarget(
            "poisoning_door_to_antidote",
            TimeNode.DOOR,
            TimeNode.ANTIDOTE,
            30,
            False,
            _("Door-to-antidote <= 30 min"),
        ),
    ],
}

# Identifier systems of the hub's own FHIR records.
REFERRAL_ID_SYSTEM = "urn:alliance-hub:referral"
OPINION_ID_SYSTEM = "urn:alliance-hub:opinion"
USER_ID_SYSTEM = "urn:alliance-hub:user"
# The person (the master patient index's golden record) a request's patient is, on its ServiceRequest and Task.
PERSON_EXTENSION_URL = "urn:alliance-hub:extension:mpi-person"
PERSON_ID_SYSTEM = "urn:alliance-hub:mpi-person"
