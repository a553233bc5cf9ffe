"""The workflow actions a request's page offers: their form, the service each calls, and who sees the button.

The buttons only reflect the rules; the services decide (a stale page's POST gets the service's refusal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from hub.referrals import services
from hub.referrals.constants import TIME_CRITICAL_PATHWAYS, TaskStatus
from hub.referrals.models import Referral
from hub.referrals.patients import ATTACHABLE
from hub.referrals.permissions import is_fulfiller_candidate
from hub.referrals.selectors import patient_records_as, user_by_username
from hub.referrals.services.common import TRANSITIONS
from hub.referrals.web import forms as web_forms


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    form: type[forms.Form]
    perform: Callable
    allowed: Callable[[object, Referral], bool]
    done: str
    style: str = ""  # "", "primary" or "danger"
    needs_context: bool = False  # the form is built with the request and the user


def _in(action: str) -> Callable[[Referral], bool]:
    return lambda referral: referral.status in TRANSITIONS[action][0]


def _fulfiller(action: str):
    return lambda user, referral: _in(action)(referral) and is_fulfiller_candidate(user, referral)


def _owner(action: str):
    return lambda user, referral: _in(action)(referral) and referral.owner_id == user.pk


def _can_accept(user, referral) -> bool:
    return _fulfiller("accept")(user, referral) and referral.accepted_at is None


def _can_forward(user, referral) -> bool:
    return _fulfiller("forward")(user, referral) and (referral.accepted_at is None or referral.owner_id == user.pk)


def _can_provide_info(user, referral) -> bool:
    return _in("provide_info")(referral) and user.site_id == referral.requesting_site_id


def _can_record_times(user, referral) -> bool:
    return referral.pathway in TIME_CRITICAL_PATHWAYS and referral.status != TaskStatus.DRAFT


def _can_add_addendum(user, referral) -> bool:
    return referral.status == TaskStatus.COMPLETED and (
        referral.owner_id == user.pk or any(o.author_id == user.pk for o in referral.opinions.all())
    )


def _requester(action: str):
    return lambda user, referral: _in(action)(referral) and referral.requester_id == user.pk


def _id(referral) -> dict:
    return {"referral_id": referral.pk}


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in [
        Action(
            "submit",
            _("Send the request"),
            web_forms.NoInputForm,
            lambda user, referral, form: services.referral_submit(actor=user, **_id(referral)),
            _requester("submit"),
            _("The request was sent."),
            "primary",
        ),
        Action(
            "receive",
            _("Acknowledge"),
            web_forms.NoInputForm,
            lambda user, referral, form: services.task_receive(actor=user, **_id(referral)),
            lambda user, referral: referral.status == TaskStatus.REQUESTED and is_fulfiller_candidate(user, referral),
            _("You acknowledged the request."),
        ),
        Action(
            "accept",
            _("Accept"),
            web_forms.NoInputForm,
            lambda user, referral, form: services.task_accept(actor=user, **_id(referral)),
            _can_accept,
            _("You accepted the request."),
            "primary",
        ),
        Action(
            "decline",
            _("Decline"),
            web_forms.ReasonForm,
            lambda user, referral, form: services.task_decline(
                actor=user, reason=form.cleaned_data["reason"], **_id(referral)
            ),
            _fulfiller("decline"),
            _("You declined the request; it was routed onward."),
            "danger",
        ),
        Action(
            "forward",
            _("Forward to a colleague"),
            web_forms.ForwardForm,
            lambda user, referral, form: services.task_forward(
                actor=user,
                to_user=user_by_username(form.cleaned_data["to"]),
                reason=form.cleaned_data["reason"],
                **_id(referral),
            ),
            _can_forward,
            _("The request was forwarded."),
            needs_context=True,
        ),
        Action(
            "request_info",
            _("Ask for information"),
            web_forms.QuestionForm,
            lambda user, referral, form: services.task_request_info(
                actor=user, question=form.cleaned_data["question"], **_id(referral)
            ),
            _fulfiller("request_info"),
            _("Your question was sent to the requesting doctor."),
        ),
        Action(
            "provide_info",
            _("Add records or a note"),
            web_forms.ProvideInfoForm,
            lambda user, referral, form: services.referral_info_provide(
                actor=user, note=form.cleaned_data["note"], attachments=form.attachments(), **_id(referral)
            ),
            _can_provide_info,
            _("The information was added."),
            "primary",
            needs_context=True,
        ),
        Action(
            "invite",
            _("Invite experts"),
            web_forms.InviteForm,
            lambda user, referral, form: services.task_invite(
                actor=user,
                invitees=[user_by_username(name) for name in form.cleaned_data["usernames"]],
                **_id(referral),
            ),
            _owner("invite"),
            _("The invitations were sent."),
            needs_context=True,
        ),
        Action(
            "schedule",
            _("Schedule a session"),
            web_forms.ScheduleForm,
            lambda user, referral, form: services.appointment_schedule(
                actor=user,
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
                **_id(referral),
            ),
            _owner("schedule"),
            _("The session was scheduled."),
        ),
        Action(
            "start",
            _("Start"),
            web_forms.NoInputForm,
            lambda user, referral, form: services.task_start(actor=user, **_id(referral)),
            _owner("start"),
            _("Work on the request started."),
        ),
        Action(
            "time_nodes",
            _("Record a time"),
            web_forms.TimeNodeForm,
            lambda user, referral, form: services.time_nodes_record(
                actor=user, referral=referral, nodes={form.cleaned_data["node"]: form.cleaned_data["at"]}
            ),
            _can_record_times,
            _("The time was recorded."),
        ),
        Action(
            "opinion",
            _("Sign the opinion and complete"),
            web_forms.OpinionForm,
            lambda user, referral, form: services.opinion_sign(actor=user, **form.signing(), **_id(referral)),
            _owner("complete"),
            _("The opinion was signed; the request is completed."),
            "primary",
        ),
        Action(
            "addendum",
            _("Add an addendum"),
            web_forms.AddendumForm,
            lambda user, referral, form: services.opinion_addendum(
                actor=user,
                opinion_id=form.cleaned_data["opinion"],
                title=form.cleaned_data["title"],
                conclusion=form.cleaned_data["conclusion"],
                pin=form.cleaned_data["pin"],
            ),
            _can_add_addendum,
            _("The addendum was signed."),
            needs_context=True,
        ),
        Action(
            "hold",
            _("Put on hold"),
            web_forms.ReasonForm,
            lambda user, referral, form: services.task_hold(
                actor=user, reason=form.cleaned_data["reason"], **_id(referral)
            ),
            _owner("hold"),
            _("The request is on hold."),
        ),
        Action(
            "resume",
            _("Resume"),
            web_forms.NoInputForm,
            lambda user, referral, form: services.task_resume(actor=user, **_id(referral)),
            _owner("resume"),
            _("The request was resumed."),
        ),
        Action(
            "fail",
            _("Could not be done"),
            web_forms.ReasonForm,
            lambda user, referral, form: services.task_fail(
                actor=user, reason=form.cleaned_data["reason"], **_id(referral)
            ),
            _owner("fail"),
            _("The request was closed as not done."),
            "danger",
        ),
        Action(
            "cancel",
            _("Cancel the request"),
            web_forms.ReasonForm,
            lambda user, referral, form: services.referral_cancel(
                actor=user, reason=form.cleaned_data["reason"], **_id(referral)
            ),
            _requester("cancel"),
            _("The request was cancelled."),
            "danger",
        ),
    ]
}


def action_form(action: Action, *, user, referral: Referral, data=None) -> forms.Form:
    """The action's form, bound to ``data`` when given, with its choices for this request and person."""
    prefix = action.name
    if not action.needs_context:
        return action.form(data, prefix=prefix)
    if action.form is web_forms.ProvideInfoForm:
        form = action.form(data, prefix=prefix)
        form.set_records(patient_records_as(user=user, patient_ref=referral.patient_ref, types=ATTACHABLE))
        return form
    return action.form(data, prefix=prefix, referral=referral, user=user)


def actions_allowed(*, user, referral: Referral) -> list[Action]:
    return [action for action in ACTIONS.values() if action.allowed(user, referral)]


# How the request's history names each step (``Transition.action``).
HISTORY_LABELS = {
    "submit": _("Sent"),
    "receive": _("Acknowledged"),
    "accept": _("Accepted"),
    "decline": _("Declined"),
    "reject": _("Rejected (nobody left to route to)"),
    "forward": _("Forwarded"),
    "escalate": _("Escalated (response overdue)"),
    "escalate_opinion": _("Escalated (opinion overdue)"),
    "request_info": _("Information requested"),
    "provide_info": _("Information added"),
    "invite": _("Experts invited"),
    "schedule": _("Session scheduled"),
    "start": _("Started"),
    "hold": _("Put on hold"),
    "resume": _("Resumed"),
    "complete": _("Completed with a signed opinion"),
    "addendum": _("Addendum signed"),
    "fail": _("Could not be done"),
    "cancel": _("Cancelled"),
}


# The one thing to do next with a request, for the worklist's cards: (action name, label), first allowed wins.
NEXT_STEPS = (
    ("accept", _("Accept")),
    ("opinion", _("Write the opinion")),
    ("provide_info", _("Add information")),
    ("submit", _("Send")),
    ("time_nodes", _("Record times")),
)


def next_step(*, user, referral: Referral) -> tuple[str, str]:
    """(action name or "", label) of what ``user`` would do next with ``referral``; ("", "Open") when nothing."""
    for name, label in NEXT_STEPS:
        if ACTIONS[name].allowed(user, referral):
            return name, label
    return "", _("Open")
