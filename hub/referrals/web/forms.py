"""Forms of the referral pages: the same inputs the API takes, with errors shown beside the fields."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from federation.sites.constants import SiteKind, Specialty
from federation.sites.models import Site
from hub.accounts.constants import Role
from hub.referrals import selectors
from hub.referrals.constants import (
    Pathway,
    ReferralKind,
    StudyKind,
    TaskStatus,
    TimeNode,
    TreatmentDecision,
    Urgency,
)
from hub.referrals.web.record_labels import record_label

_REFERENCE_SPLIT = re.compile(r"[\s,;]+")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
# Pathway times a requester may give with a new request (the rest are recorded on the request's page).
CREATE_TIME_NODES = (TimeNode.SYMPTOM_ONSET, TimeNode.FIRST_MEDICAL_CONTACT, TimeNode.DOOR, TimeNode.FIRST_ECG)


def _blank(label) -> list[tuple[str, str]]:
    return [("", label)]


def _person(user) -> str:
    place = (user.site.name if user.site_id else "", user.department.name if user.department_id else "")
    where = " · ".join(part for part in place if part)
    return f"{user.display_name or user.username} ({where})" if where else (user.display_name or user.username)


def references(text: str) -> list[str]:
    """``DiagnosticReport/1, Observation/2`` (commas, spaces or lines) as a list, in order, without repeats."""
    found: list[str] = []
    for item in _REFERENCE_SPLIT.split(text or ""):
        if item and item not in found:
            found.append(item)
    return found


class RecordsMixin:
    """Attached records: the patient's records as checkboxes, plus references typed by hand."""

    def set_records(self, records: list[dict]) -> None:
        labelled = sorted(((r, record_label(r)) for r in records), key=lambda pair: pair[1].when, reverse=True)
        self.fields["records"].choices = [(f"{r['resourceType']}/{r['id']}", str(label)) for r, label in labelled]

    def attachments(self) -> list[str]:
        chosen = list(self.cleaned_data.get("records") or [])
        return chosen + [ref for ref in references(self.cleaned_data.get("attachments_text", "")) if ref not in chosen]


class ReferralCreateForm(RecordsMixin, forms.Form):
    """A new request: county doctors ask up (referral, consultation, diagnosis), specialists refer down."""

    kind = forms.ChoiceField(label=_("Kind"), choices=ReferralKind.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.URGENT)
    pathway = forms.ChoiceField(label=_("Pathway"), choices=Pathway.choices, initial=Pathway.OTHER)
    study_kind = forms.ChoiceField(
        label=_("Study to read (remote diagnosis)"), choices=_blank("—") + list(StudyKind.choices), required=False
    )
    patient = forms.CharField(
        label=_("Patient"),
        max_length=100,
        help_text=_("Search above and choose the patient, or give the record as Patient/123."),
    )
    clinical_question = forms.CharField(label=_("Clinical question"), max_length=4000, widget=forms.Textarea)
    reason = forms.CharField(label=_("Reason"), max_length=4000, required=False, widget=forms.Textarea)
    target_specialty = forms.ChoiceField(
        label=_("Target specialty"), choices=_blank("—") + list(Specialty.choices), required=False
    )
    named_expert = forms.ChoiceField(label=_("Named expert"), required=False)
    target_site = forms.ChoiceField(label=_("Target hospital"), required=False)
    records = forms.MultipleChoiceField(
        label=_("The patient's records to attach"), required=False, widget=forms.CheckboxSelectMultiple
    )
    attachments_text = forms.CharField(
        label=_("Other records to attach"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("References such as DiagnosticReport/123, separated by spaces or lines."),
    )
    consent_given = forms.BooleanField(
        label=_("The patient (or family) consents to sharing the record"), required=False, initial=True
    )
    consent_method = forms.ChoiceField(
        label=_("Consent given"),
        choices=[("written", _("In writing")), ("verbal", _("Verbally")), ("electronic", _("Electronically"))],
        initial="written",
    )
    consent_given_by = forms.ChoiceField(
        label=_("Consent given by"), choices=[("patient", _("The patient")), ("family", _("The family"))]
    )
    discharge_summary = forms.CharField(
        label=_("Discharge summary (down-referral)"), max_length=20000, required=False, widget=forms.Textarea
    )
    symptom_onset = forms.DateTimeField(
        label=TimeNode.SYMPTOM_ONSET.label, required=False, widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    first_medical_contact = forms.DateTimeField(
        label=TimeNode.FIRST_MEDICAL_CONTACT.label,
        required=False,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
    )
    door = forms.DateTimeField(
        label=TimeNode.DOOR.label, required=False, widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    first_ecg = forms.DateTimeField(
        label=TimeNode.FIRST_ECG.label, required=False, widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        going_down = user.role == Role.SPECIALIST
        if going_down:
            self.fields["kind"].choices = [(ReferralKind.DOWN, ReferralKind.DOWN.label)]
            sites = Site.objects.filter(kind=SiteKind.COUNTY, active=True).order_by("name")
            self.fields["target_site"].choices = _blank("—") + [(s.code, s.name) for s in sites]
            self.fields["target_site"].required = True
        else:
            self.fields["kind"].choices = [(k, label) for k, label in ReferralKind.choices if k != ReferralKind.DOWN]
            sites = Site.objects.filter(kind=SiteKind.GENERAL, active=True).order_by("name")
            self.fields["target_site"].choices = _blank(_("The alliance's general hospital")) + [
                (s.code, s.name) for s in sites
            ]
        experts = selectors.clinicians(roles=(Role.SPECIALIST,)).exclude(pk=user.pk)
        self.fields["named_expert"].choices = _blank("—") + [(u.username, _person(u)) for u in experts]

    def clean_patient(self) -> str:
        value = self.cleaned_data["patient"].strip()
        return value if "/" in value or "|" in value else f"Patient/{value}"

    def time_nodes(self) -> dict:
        return {node: self.cleaned_data[node] for node in CREATE_TIME_NODES if self.cleaned_data.get(node)}


# Which field a refusal of ``referral_create`` is about (by the error's code); the rest go above the form.
CREATE_ERROR_FIELDS = {
    "invalid_patient": "patient",
    "consent_required": "consent_given",
    "invalid_expert": "named_expert",
    "invalid_attachment": "attachments_text",
    "discharge_summary_required": "discharge_summary",
    "invalid_time_node": None,
    "invalid_upload": None,
}


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class QuestionForm(forms.Form):
    question = forms.CharField(
        label=_("What do you need to know?"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoInputForm(forms.Form):
    pass


class ForwardForm(forms.Form):
    to = forms.ChoiceField(label=_("Colleague"))
    reason = forms.CharField(label=_("Reason"), max_length=4000, required=False)

    def __init__(self, *args, referral, user, **kwargs):
        super().__init__(*args, **kwargs)
        people = selectors.clinicians(site=referral.target_site).exclude(pk=user.pk)
        self.fields["to"].choices = [(u.username, _person(u)) for u in people]


class ProvideInfoForm(RecordsMixin, forms.Form):
    note = forms.CharField(label=_("Note"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    records = forms.MultipleChoiceField(
        label=_("The patient's records to add"), required=False, widget=forms.CheckboxSelectMultiple
    )
    attachments_text = forms.CharField(
        label=_("Other records to add"),
        required=False,
        max_length=4000,
        help_text=_("References such as DiagnosticReport/123, separated by spaces or lines."),
    )


class InviteForm(forms.Form):
    usernames = forms.MultipleChoiceField(label=_("Invite"), widget=forms.SelectMultiple(attrs={"size": 6}))

    def __init__(self, *args, referral, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["usernames"].choices = [
            (u.username, _person(u)) for u in selectors.referral_invitees(referral=referral)
        ]


class ScheduleForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("Starts at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS)
    ends_at = forms.DateTimeField(label=_("Ends at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS)


class TimeNodeForm(forms.Form):
    node = forms.ChoiceField(label=_("Time node"), choices=TimeNode.choices)
    at = forms.DateTimeField(label=_("At"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS)


class OpinionForm(forms.Form):
    """The opinion: written, previewed, then signed with the signer's PIN (``pin`` is asked on the preview)."""

    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    conclusion = forms.CharField(label=_("Conclusion"), max_length=20000, widget=forms.Textarea)
    recommendations = forms.CharField(
        label=_("Recommendations"), max_length=20000, required=False, widget=forms.Textarea
    )
    decision = forms.ChoiceField(
        label=_("Treatment decision"), choices=_blank("—") + list(TreatmentDecision.choices), required=False
    )
    pin = forms.CharField(
        label=_("Signing PIN"),
        required=False,
        max_length=12,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def signing(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "conclusion": data["conclusion"],
            "recommendations": data["recommendations"],
            "decision": data["decision"],
            "pin": data["pin"],
        }


class AddendumForm(forms.Form):
    """An addendum is signed like the opinion: with the signer's PIN."""

    opinion = forms.TypedChoiceField(label=_("Adds to"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    conclusion = forms.CharField(label=_("Addendum"), max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))
    pin = forms.CharField(
        label=_("Signing PIN"),
        max_length=12,
        help_text=_("An addendum is signed: your six-digit signing PIN."),
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args, referral, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opinion"].choices = [
            (o.pk, f"{o.title} · {o.signed_at:%Y-%m-%d %H:%M}") for o in referral.opinions.all() if o.appends_id is None
        ]


class WorklistFilterForm(forms.Form):
    """The worklist's filters (invalid values are ignored, never an error page)."""

    scope = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("all", _("All I can see")),
            ("mine", _("My open requests")),
            ("team", _("My team's unassigned")),
            ("requested", _("Requested by me")),
        ],
    )
    status = forms.ChoiceField(label=_("State"), required=False, choices=_blank(_("Any")) + list(TaskStatus.choices))
    urgency = forms.ChoiceField(label=_("Urgency"), required=False, choices=_blank(_("Any")) + list(Urgency.choices))
    pathway = forms.ChoiceField(label=_("Pathway"), required=False, choices=_blank(_("Any")) + list(Pathway.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(_("Any")) + list(ReferralKind.choices))

    def filters(self) -> dict[str, str]:
        self.is_valid()  # the valid filters are kept, the others dropped
        chosen = {name: self.cleaned_data.get(name) or "" for name in self.fields}
        return chosen | {"scope": chosen["scope"] or "all"}
