from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hub.devices.constants import AlarmKind, AlarmPriority, DeviceKind, IngestPath

USER = settings.AUTH_USER_MODEL


class Device(models.Model):
    """A bedside monitor or ventilator of a site (a FHIR Device, at a ward/bed Location)."""

    site = models.ForeignKey("federation.Site", verbose_name=_("site"), on_delete=models.PROTECT, related_name="+")
    key = models.SlugField(_("device identifier"), max_length=64, help_text=_("As in the device's MQTT topic"))
    kind = models.CharField(_("kind"), max_length=12, choices=DeviceKind.choices, default=DeviceKind.MONITOR)
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    model_name = models.CharField(_("model"), max_length=100, blank=True)
    serial = models.CharField(_("serial number"), max_length=100, blank=True)
    ward = models.CharField(_("ward"), max_length=100, blank=True)
    bed = models.CharField(_("bed"), max_length=32, blank=True)
    fhir_id = models.CharField(_("Device id"), max_length=64, blank=True)
    location_fhir_id = models.CharField(_("Location id"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last data"), null=True, blank=True)
    rejected = models.PositiveIntegerField(_("messages refused"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["site_id", "ward", "bed", "key"]
        constraints = [models.UniqueConstraint(fields=["site", "key"], name="device_key_unique_per_site")]

    def __str__(self) -> str:
        return f"{self.key} ({self.ward} {self.bed})".strip()


class Binding(models.Model):
    """A device attached to a patient for a period (a FHIR DeviceUseStatement); data outside one is refused."""

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="bindings")
    patient_ref = models.CharField(_("patient"), max_length=100)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"), null=True, blank=True)
    fhir_id = models.CharField(_("DeviceUseStatement id"), max_length=64, blank=True)
    bound_by = models.ForeignKey(
        USER, verbose_name=_("bound by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("binding")
        verbose_name_plural = _("bindings")
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["device"], condition=Q(end__isnull=True), name="device_one_open_binding")
        ]

    def __str__(self) -> str:
        return f"{self.device_id} → {self.patient_ref}"


class SiteMqttCredential(models.Model):
    """The MQTT username and password a site's gateway connects with (topics ``alliance/<site>/...`` only)."""

    site = models.OneToOneField("federation.Site", on_delete=models.CASCADE, related_name="+")
    username = models.CharField(_("username"), max_length=64, unique=True)
    password_hash = models.CharField(_("password hash"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("site MQTT credential")
        verbose_name_plural = _("site MQTT credentials")

    def __str__(self) -> str:
        return self.username


class Summary(models.Model):
    """One parameter of one device over one minute: min, median, max of the values received."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    patient_ref = models.CharField(max_length=100)
    parameter = models.CharField(max_length=16)
    minute = models.DateTimeField()
    count = models.PositiveIntegerField()
    minimum = models.FloatField()
    median = models.FloatField()
    maximum = models.FloatField()

    class Meta:
        verbose_name = _("per-minute summary")
        verbose_name_plural = _("per-minute summaries")
        constraints = [models.UniqueConstraint(fields=["device", "parameter", "minute"], name="summary_one_per_minute")]
        indexes = [models.Index(fields=["patient_ref", "parameter", "minute"], name="summary_patient_minute")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.parameter} {self.minute:%H:%M}"


class Threshold(models.Model):
    """A patient's own alarm limits for one parameter (otherwise: the defaults of their age group)."""

    patient_ref = models.CharField(max_length=100)
    parameter = models.CharField(max_length=16)
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)
    updated_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alarm limit")
        verbose_name_plural = _("alarm limits")
        constraints = [models.UniqueConstraint(fields=["patient_ref", "parameter"], name="threshold_unique")]

    def __str__(self) -> str:
        return f"{self.patient_ref} {self.parameter} {self.low}-{self.high}"


class Alarm(models.Model):
    """A physiological or technical alarm (a FHIR Flag and, if physiological, the Observation that raised it)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="alarms")
    patient_ref = models.CharField(_("patient"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=AlarmKind.choices)
    priority = models.CharField(_("priority"), max_length=8, choices=AlarmPriority.choices)
    condition = models.CharField(_("condition"), max_length=32)  # parameter key + "_high"/"_low", or technical
    message = models.CharField(_("message"), max_length=200)
    value = models.FloatField(null=True, blank=True)
    raised_at = models.DateTimeField(_("raised at"), db_index=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    strips_due_at = models.DateTimeField(null=True, blank=True)  # when the strips around it are cut
    flag_id = models.CharField(max_length=64, blank=True)
    observation_id = models.CharField(max_length=64, blank=True)
    detected_issue_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "condition"], condition=Q(acknowledged_at__isnull=True), name="alarm_one_open"
            )
        ]
        indexes = [
            models.Index(fields=["strips_due_at"], condition=Q(strips_due_at__isnull=False), name="alarm_strips_due")
        ]

    def __str__(self) -> str:
        return f"{self.message} ({self.priority})"


class Strip(models.Model):
    """Seconds of one wave kept in the record (around an alarm, or saved from the live view)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    patient_ref = models.CharField(max_length=100)
    parameter = models.CharField(max_length=16)
    start = models.DateTimeField()
    rate = models.FloatField()
    samples = models.JSONField()
    alarm = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL, related_name="strips")
    saved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    observation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("waveform strip")
        verbose_name_plural = _("waveform strips")

    def __str__(self) -> str:
        return f"{self.device_id} {self.parameter} {self.start:%H:%M:%S}"


class Rejection(models.Model):
    """A message refused at ingest (the dead-letter view); nothing of it was stored elsewhere."""

    site_code = models.CharField(max_length=64, blank=True)
    device_key = models.CharField(max_length=64, blank=True)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=8, choices=IngestPath.choices)
    reason = models.CharField(max_length=32)
    detail = models.CharField(max_length=500)
    excerpt = models.TextField(blank=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("refused message")
        verbose_name_plural = _("refused messages")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.site_code}/{self.device_key}: {self.reason}"
