"""Output shapes of the referral API."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hub.api_errors import DomainError
from hub.referrals.constants import TimeNode
from hub.referrals.models import Referral
from hub.referrals.selectors import pathway_intervals, referral_person


@extend_schema_field(
    {"type": "object", "properties": {"username": {"type": "string"}, "name": {"type": "string"}}, "nullable": True}
)
class PersonField(serializers.Field):
    """A person as ``{"username", "name"}``."""

    def to_representation(self, user):
        return {"username": user.username, "name": user.display_name or user.username}


class TimeNodeTimes(serializers.Serializer):
    """``{time node: ISO time}``: any of the pathway's time points; an unknown time node is refused."""

    def get_fields(self):
        return {
            node: serializers.DateTimeField(required=False, help_text=str(label)) for node, label in TimeNode.choices
        }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in set(data) - set(TimeNode.values))
            if unknown:  # the same refusal as the service's (``time_node_check``)
                raise DomainError(
                    _("Unknown time node: %(node)s") % {"node": ", ".join(unknown)[:200]}, code="invalid_time_node"
                )
        return super().to_internal_value(data)


class ReferralSummarySerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient_ref", help_text="the requesting site's Patient/<id>")
    person = serializers.CharField(
        source="person_uid",
        help_text="the person (golden record id in the master patient index) the patient was when the request was "
        "made; empty when the index could not tell",
    )
    requester = PersonField()
    owner = PersonField(allow_null=True)
    requesting_site = serializers.CharField(source="requesting_site.code")
    target_site = serializers.CharField(source="target_site.code")
    target_department = serializers.CharField(source="target_department.code", allow_null=True, default=None)
    fhir = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "uid",
            "kind",
            "urgency",
            "pathway",
            "study_kind",
            "status",
            "business_status",
            "patient",
            "patient_display",
            "person",
            "requester",
            "requesting_site",
            "target_site",
            "target_specialty",
            "target_department",
            "owner",
            "consent_state",
            "created_at",
            "submitted_at",
            "accepted_at",
            "closed_at",
            "sla_due_at",
            "escalation_level",
            "fhir",
        ]

    def get_fhir(self, referral) -> dict[str, str | None]:
        def ref(kind, fhir_id):
            return f"{kind}/{fhir_id}" if fhir_id else None

        return {
            "service_request": ref("ServiceRequest", referral.service_request_id),
            "task": ref("Task", referral.task_id),
            "consent": ref("Consent", referral.consent_id),
        }


class ParticipantSerializer(serializers.Serializer):
    user = PersonField()
    role = serializers.CharField()
    active = serializers.BooleanField()
    added_at = serializers.DateTimeField()


class TransitionSerializer(serializers.Serializer):
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    business_status = serializers.CharField()
    actor = PersonField(allow_null=True)
    at = serializers.DateTimeField()
    reason = serializers.CharField()


class RoutingDecisionSerializer(serializers.Serializer):
    rule = serializers.CharField()
    department = serializers.CharField(source="department.code", allow_null=True, default=None)
    assignee = PersonField(allow_null=True)
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class TimeNodeSerializer(serializers.Serializer):
    node = serializers.CharField()
    at = serializers.DateTimeField()


class AppointmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    fhir = serializers.SerializerMethodField()

    def get_fhir(self, appointment) -> str:
        return f"Appointment/{appointment.fhir_id}"


class OpinionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    uid = serializers.UUIDField()
    appends = serializers.IntegerField(source="appends_id", allow_null=True)
    author = PersonField()
    title = serializers.CharField()
    conclusion = serializers.CharField()
    recommendations = serializers.CharField()
    signed_at = serializers.DateTimeField()
    signature = serializers.CharField()
    composition = serializers.SerializerMethodField()
    provenance = serializers.SerializerMethodField()
    delivery_status = serializers.CharField()
    delivery_attempts = serializers.IntegerField()
    delivery_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)

    def get_composition(self, opinion) -> str:
        return f"Composition/{opinion.composition_id}"

    def get_provenance(self, opinion) -> str:
        return f"Provenance/{opinion.provenance_id}"


class BreachSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    escalated_to = PersonField(allow_null=True)
    reason = serializers.CharField()


class LinkedPatientSerializer(serializers.Serializer):
    site = serializers.CharField(help_text="code of the member site holding this Patient")
    patient = serializers.CharField(help_text="Patient/<id> (the hub's copy of that site's record)")


class ReferralCreatedSerializer(ReferralSummarySerializer):
    """What a new request answers with: where it went and why (the full record is at its detail URL)."""

    # The rows ``referral_create`` just wrote, kept on the instance: answering needs no query.
    routing_decisions = RoutingDecisionSerializer(source="routing_trail", many=True)
    time_nodes = TimeNodeSerializer(source="time_node_rows", many=True)

    class Meta(ReferralSummarySerializer.Meta):
        fields = [
            *ReferralSummarySerializer.Meta.fields,
            "clinical_question",
            "reason",
            "attachments",
            "routing_decisions",
            "time_nodes",
        ]


class ReferralDetailSerializer(ReferralSummarySerializer):
    participants = ParticipantSerializer(many=True)
    transitions = TransitionSerializer(many=True)
    routing_decisions = RoutingDecisionSerializer(many=True)
    time_nodes = TimeNodeSerializer(many=True)
    pathway_intervals = serializers.SerializerMethodField()
    linked_patients = serializers.SerializerMethodField(
        help_text="the same person's Patients at the other member sites, as linked now in the master patient index; "
        "those entitled to the request read their records through the FHIR API"
    )
    appointments = AppointmentSerializer(many=True)
    opinions = OpinionSerializer(many=True)
    breaches = BreachSerializer(many=True)

    class Meta(ReferralSummarySerializer.Meta):
        fields = [
            *ReferralSummarySerializer.Meta.fields,
            "clinical_question",
            "reason",
            "attachments",
            "participants",
            "transitions",
            "routing_decisions",
            "time_nodes",
            "pathway_intervals",
            "linked_patients",
            "appointments",
            "opinions",
            "breaches",
        ]

    def get_pathway_intervals(self, referral) -> list[dict]:
        return pathway_intervals(referral=referral)

    @extend_schema_field(LinkedPatientSerializer(many=True))
    def get_linked_patients(self, referral) -> list[dict]:
        person = referral_person(referral=referral)
        if person is None:
            return []
        return [{"site": site, "patient": ref} for site, ref in person.patients if ref != referral.patient_ref]


# The 201 answer of a new request, built by hand: a ``ModelSerializer`` rebuilds its fields on every request
# (~2.5 ms a POST). Same output as ``ReferralCreatedSerializer``, which still describes it in the OpenAPI schema
# (tests/hub/referrals/test_created_answer.py compares the two).
_DATETIME = serializers.DateTimeField()


def _when(value):
    return _DATETIME.to_representation(value) if value else None


def _person(user):
    return None if user is None else {"username": user.username, "name": user.display_name or user.username}


def _ref(kind: str, fhir_id: str) -> str | None:
    return f"{kind}/{fhir_id}" if fhir_id else None


def referral_created_data(referral: Referral) -> dict:
    """``ReferralCreatedSerializer(referral).data`` without the serializer machinery."""
    department = referral.target_department
    return {
        "id": referral.pk,
        "uid": str(referral.uid),
        "kind": referral.kind,
        "urgency": referral.urgency,
        "pathway": referral.pathway,
        "study_kind": referral.study_kind,
        "status": referral.status,
        "business_status": referral.business_status,
        "patient": referral.patient_ref,
        "patient_display": referral.patient_display,
        "person": referral.person_uid,
        "requester": _person(referral.requester),
        "requesting_site": referral.requesting_site.code,
        "target_site": referral.target_site.code,
        "target_specialty": referral.target_specialty,
        "target_department": department.code if department is not None else None,
        "owner": _person(referral.owner),
        "consent_state": referral.consent_state,
        "created_at": _when(referral.created_at),
        "submitted_at": _when(referral.submitted_at),
        "accepted_at": _when(referral.accepted_at),
        "closed_at": _when(referral.closed_at),
        "sla_due_at": _when(referral.sla_due_at),
        "escalation_level": referral.escalation_level,
        "fhir": {
            "service_request": _ref("ServiceRequest", referral.service_request_id),
            "task": _ref("Task", referral.task_id),
            "consent": _ref("Consent", referral.consent_id),
        },
        "clinical_question": referral.clinical_question,
        "reason": referral.reason,
        "attachments": referral.attachments,
        "routing_decisions": [
            {
                "rule": row.rule,
                "department": row.department.code if row.department is not None else None,
                "assignee": _person(row.assignee),
                "reason": row.reason,
                "at": _when(row.at),
            }
            for row in referral.routing_trail
        ],
        "time_nodes": [{"node": row.node, "at": _when(row.at)} for row in referral.time_node_rows],
    }
