from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from federation.sites.constants import SiteKind, Specialty


class Site(models.Model):
    """A member of the alliance: the alliance itself, the general hospital or a county hospital."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=SiteKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("part of"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == SiteKind.ALLIANCE and self.parent_id is not None:
            raise ValidationError({"parent": _("The alliance is not part of another site.")})
        if self.kind != SiteKind.ALLIANCE:
            if self.parent is None or self.parent.kind != SiteKind.ALLIANCE:
                raise ValidationError({"parent": _("A hospital must be part of an alliance.")})

    @property
    def is_county(self) -> bool:
        return self.kind == SiteKind.COUNTY

    @property
    def is_general(self) -> bool:
        return self.kind == SiteKind.GENERAL


class Department(models.Model):
    """A department of a hospital (emergency, cardiology, ...)."""

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.CASCADE, related_name="departments")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    specialty = models.CharField(_("specialty"), max_length=40, choices=Specialty.choices)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="department_code_unique_per_site")]

    def __str__(self) -> str:
        return f"{self.site.name} · {self.name}"

    def clean(self) -> None:
        if self.site_id and self.site.kind == SiteKind.ALLIANCE:
            raise ValidationError({"site": _("Departments belong to hospitals, not to the alliance.")})
