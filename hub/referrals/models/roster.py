"""Who answers when: on-call shifts with backups, department heads, SLA targets and their breaches."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.referrals.constants import Pathway, Urgency
from hub.referrals.models.referral import Referral

USER = settings.AUTH_USER_MODEL


class OnCallShift(models.Model):
    """A shift of the on-call roster: a department's primary specialist and backup for a period."""

    department = models.ForeignKey(
        "federation.Department", verbose_name=_("department"), on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    primary = models.ForeignKey(USER, verbose_name=_("on call"), on_delete=models.PROTECT, related_name="+")
    backup = models.ForeignKey(
        USER, verbose_name=_("backup"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("on-call shift")
        verbose_name_plural = _("on-call roster")
        ordering = ["department", "starts_at"]
        indexes = [models.Index(fields=["department", "starts_at", "ends_at"], name="oncall_department_period")]

    def __str__(self) -> str:
        return f"{self.department} {self.starts_at:%m-%d %H:%M}–{self.ends_at:%m-%d %H:%M}: {self.primary}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A shift ends after it starts.")})
        for field in ("primary", "backup"):
            person = getattr(self, field, None)
            if person is not None and person.department_id != self.department_id:
                raise ValidationError({field: _("The specialist does not work in this department.")})
        if self.backup_id and self.backup_id == self.primary_id:
            raise ValidationError({"backup": _("The backup is someone other than the person on call.")})


class DepartmentHead(models.Model):
    """The head of a department: the last step of SLA escalation."""

    department = models.OneToOneField(
        "federation.Department", verbose_name=_("department"), on_delete=models.CASCADE, related_name="+"
    )
    head = models.ForeignKey(USER, verbose_name=_("head"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("department head")
        verbose_name_plural = _("department heads")

    def __str__(self) -> str:
        return f"{self.department}: {self.head}"


class SlaPolicy(models.Model):
    """How soon a request must be accepted, per urgency and optionally per pathway."""

    urgency = models.CharField(_("urgency"), max_length=12, choices=Urgency.choices)
    pathway = models.CharField(_("pathway"), max_length=12, choices=Pathway.choices, blank=True)
    accept_within_minutes = models.PositiveIntegerField(_("accept within (minutes)"))
    escalate_every_minutes = models.PositiveIntegerField(
        _("then escalate every (minutes)"), null=True, blank=True, help_text=_("Empty: the same as the target.")
    )
    opinion_within_minutes = models.PositiveIntegerField(
        _("sign the opinion within (minutes of acceptance)"),
        null=True,
        blank=True,
        help_text=_("Empty: the alliance's default for the urgency."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [models.UniqueConstraint(fields=["urgency", "pathway"], name="sla_policy_unique")]

    def __str__(self) -> str:
        return f"{self.get_urgency_display()} {self.get_pathway_display()}: {self.accept_within_minutes} min"


class SlaBreach(models.Model):
    """A request not accepted in time, or accepted but not answered by a signed opinion in time, and to whom
    it was escalated."""

    class Kind(models.TextChoices):
        ACCEPT = "accept", _("Not accepted in time")
        OPINION = "opinion", _("No signed opinion in time")

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="breaches"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.ACCEPT)
    level = models.PositiveSmallIntegerField(_("escalation level"))
    due_at = models.DateTimeField(_("was due at"))
    detected_at = models.DateTimeField(_("detected at"))
    escalated_to = models.ForeignKey(
        USER, verbose_name=_("escalated to"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("SLA breach")
        verbose_name_plural = _("SLA breaches")
        ordering = ["detected_at"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "kind", "level"], name="sla_breach_kind_level_unique")
        ]

    def __str__(self) -> str:
        return f"{self.referral_id} L{self.level}"
