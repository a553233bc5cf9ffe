"""One endpoint per workflow action: parse, call one service, answer with the request's new state."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from hub.accounts.api.fields import SigningPinField
from hub.api_schema import errors
from hub.referrals import services
from hub.referrals.api.serializers import ReferralDetailSerializer, TimeNodeTimes
from hub.referrals.api.views import _clinicians_only, detail_response, referral_for
from hub.referrals.selectors import user_by_username


class NoInput(serializers.Serializer):
    pass


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class ForwardInput(serializers.Serializer):
    to = serializers.CharField(help_text="username of the colleague")
    reason = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)


class QuestionInput(serializers.Serializer):
    question = serializers.CharField(max_length=4000)


class ProvideInfoInput(serializers.Serializer):
    note = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)
    attachments = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=100
    )


class InviteInput(serializers.Serializer):
    usernames = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=20)


class ScheduleInput(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class OpinionInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    conclusion = serializers.CharField(max_length=20000)
    recommendations = serializers.CharField(max_length=20000, required=False, default="", allow_blank=True)
    pin = SigningPinField()


class AddendumInput(serializers.Serializer):
    opinion = serializers.IntegerField(help_text="id of the signed opinion this adds to")
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    conclusion = serializers.CharField(max_length=20000)
    pin = SigningPinField()


class TimeNodesInput(serializers.Serializer):
    nodes = TimeNodeTimes()


def _action(name: str, doc: str, input_serializer, perform: Callable, status: int = 200) -> type[APIView]:
    @extend_schema(
        operation_id=f"referral_{name}",
        summary=doc,
        request=input_serializer,
        responses={status: ReferralDetailSerializer, **errors(400, 404, 409, 415)},
    )
    def post(self, request, referral_id: int):
        _clinicians_only(request)
        referral = referral_for(request, referral_id)
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        perform(actor=request.user, referral=referral, data=data.validated_data)
        return detail_response(request, referral.pk, status=status)

    camel = "".join(part.capitalize() for part in name.split("_"))
    return type(f"Referral{camel}Api", (APIView,), {"post": post, "__doc__": doc})


def _id(referral) -> dict:
    return {"referral_id": referral.pk}


ACTIONS: dict[str, type[APIView]] = {
    "submit": _action(
        "submit",
        "Send a draft request.",
        NoInput,
        lambda actor, referral, data: services.referral_submit(actor=actor, **_id(referral)),
    ),
    "receive": _action(
        "receive",
        "Acknowledge a request routed to you or your team.",
        NoInput,
        lambda actor, referral, data: services.task_receive(actor=actor, **_id(referral)),
    ),
    "accept": _action(
        "accept",
        "Accept a request (409 if someone else already did).",
        NoInput,
        lambda actor, referral, data: services.task_accept(actor=actor, **_id(referral)),
    ),
    "decline": _action(
        "decline",
        "Decline with a reason; the request is routed onward.",
        ReasonInput,
        lambda actor, referral, data: services.task_decline(actor=actor, reason=data["reason"], **_id(referral)),
    ),
    "forward": _action(
        "forward",
        "Forward to a colleague.",
        ForwardInput,
        lambda actor, referral, data: services.task_forward(
            actor=actor, to_user=user_by_username(data["to"]), reason=data["reason"], **_id(referral)
        ),
    ),
    "request_info": _action(
        "request_info",
        "Ask the requester for more information.",
        QuestionInput,
        lambda actor, referral, data: services.task_request_info(
            actor=actor, question=data["question"], **_id(referral)
        ),
    ),
    "provide_info": _action(
        "provide_info",
        "Answer a request for information with records or a note.",
        ProvideInfoInput,
        lambda actor, referral, data: services.referral_info_provide(
            actor=actor, note=data["note"], attachments=data["attachments"], **_id(referral)
        ),
    ),
    "invite": _action(
        "invite",
        "Invite more experts or county doctors.",
        InviteInput,
        lambda actor, referral, data: services.task_invite(
            actor=actor, invitees=[user_by_username(u) for u in data["usernames"]], **_id(referral)
        ),
    ),
    "schedule": _action(
        "schedule",
        "Schedule a consultation session (FHIR Appointment).",
        ScheduleInput,
        lambda actor, referral, data: services.appointment_schedule(
            actor=actor, starts_at=data["starts_at"], ends_at=data["ends_at"], **_id(referral)
        ),
        status=201,
    ),
    "start": _action(
        "start",
        "Start work on an accepted request.",
        NoInput,
        lambda actor, referral, data: services.task_start(actor=actor, **_id(referral)),
    ),
    "hold": _action(
        "hold",
        "Put the request on hold.",
        ReasonInput,
        lambda actor, referral, data: services.task_hold(actor=actor, reason=data["reason"], **_id(referral)),
    ),
    "resume": _action(
        "resume",
        "Resume a request on hold.",
        NoInput,
        lambda actor, referral, data: services.task_resume(actor=actor, **_id(referral)),
    ),
    "fail": _action(
        "fail",
        "Record that the consultation could not be done.",
        ReasonInput,
        lambda actor, referral, data: services.task_fail(actor=actor, reason=data["reason"], **_id(referral)),
    ),
    "cancel": _action(
        "cancel",
        "Cancel the request (requester only).",
        ReasonInput,
        lambda actor, referral, data: services.referral_cancel(actor=actor, reason=data["reason"], **_id(referral)),
    ),
    "opinion": _action(
        "opinion",
        "Sign the opinion with the signer's PIN; completes the request.",
        OpinionInput,
        lambda actor, referral, data: services.opinion_sign(actor=actor, **data, **_id(referral)),
        status=201,
    ),
    "addendum": _action(
        "addendum",
        "Add an addendum to a signed opinion (signed too: the signer's PIN).",
        AddendumInput,
        lambda actor, referral, data: services.opinion_addendum(
            actor=actor,
            opinion_id=_opinion_of(referral, data["opinion"]),
            title=data["title"],
            conclusion=data["conclusion"],
            pin=data["pin"],
        ),
        status=201,
    ),
    "time_nodes": _action(
        "time_nodes",
        "Record pathway time nodes (door, first ECG, needle...).",
        TimeNodesInput,
        lambda actor, referral, data: services.time_nodes_record(actor=actor, referral=referral, nodes=data["nodes"]),
    ),
}


def _opinion_of(referral, opinion_id: int) -> int:
    from django.utils.translation import gettext as _

    from hub.api_errors import NotFoundError

    if not referral.opinions.filter(pk=opinion_id).exists():
        raise NotFoundError(_("No such opinion."))
    return opinion_id
