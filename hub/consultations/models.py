"""A consultation room, who is admitted to it, who is connected now, and its ordered log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hub.consultations.constants import EventKind, MediaMode, RoomRole, RoomStatus

USER = settings.AUTH_USER_MODEL


class Room(models.Model):
    """The live room of one referral or remote consultation; at most one open at a time per request."""

    uid = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True, editable=False)
    referral = models.ForeignKey(
        "referrals.Referral", verbose_name=_("referral"), on_delete=models.CASCADE, related_name="rooms"
    )
    patient_ref = models.CharField(_("patient"), max_length=100)
    status = models.CharField(_("status"), max_length=8, choices=RoomStatus.choices, default=RoomStatus.OPEN)
    media_mode = models.CharField(_("media"), max_length=4, choices=MediaMode.choices, default=MediaMode.MESH)
    opened_at = models.DateTimeField(_("opened at"))
    opened_by = models.ForeignKey(
        USER, verbose_name=_("opened by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("first joined at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        USER, verbose_name=_("ended by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The last sequence number given to an entry of the log (incremented in the writing transaction).
    last_seq = models.BigIntegerField(_("last sequence number"), default=0)
    # What everyone is looking at: {"ref": "DiagnosticReport/1", "by": user id, "seq": n} or {}.
    presented = models.JSONField(_("presented record"), default=dict, blank=True)
    encounter_id = models.CharField(_("Encounter id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("consultation room")
        verbose_name_plural = _("consultation rooms")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["referral"], condition=Q(status="open"), name="room_one_open_per_referral")
        ]

    def __str__(self) -> str:
        return f"room {self.pk} ({self.referral_id}, {self.status})"

    @property
    def group(self) -> str:
        """The Channels group every connection of the room joins."""
        return f"room.{self.pk}"

    @property
    def grant_source(self) -> str:
        return f"room:{self.pk}"


class RoomParticipant(models.Model):
    """A person admitted to a room (their access to the patient's records is a grant of the room)."""

    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(USER, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=12, choices=RoomRole.choices)
    admitted_at = models.DateTimeField(_("admitted at"))
    admitted_by = models.ForeignKey(
        USER, verbose_name=_("admitted by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        USER, verbose_name=_("removed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_joined_at = models.DateTimeField(_("first joined at"), null=True, blank=True)
    last_left_at = models.DateTimeField(_("last left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("room participant")
        verbose_name_plural = _("room participants")
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="room_participant_unique")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def admitted(self) -> bool:
        return self.removed_at is None


class RoomConnection(models.Model):
    """One open (or just dropped) websocket of a participant's device: the room's presence."""

    uid = models.CharField(_("connection id"), max_length=32, unique=True)
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.CASCADE, related_name="connections")
    user = models.ForeignKey(USER, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    # The browser tab's own id: the same tab reconnecting replaces its connection instead of joining twice.
    session = models.CharField(_("device session"), max_length=64)
    channel_name = models.CharField(_("channel"), max_length=200)
    device = models.CharField(_("device"), max_length=16, blank=True)
    device_label = models.CharField(_("device name"), max_length=100, blank=True)
    audio_muted = models.BooleanField(_("microphone off"), default=False)
    video_muted = models.BooleanField(_("camera off"), default=False)
    sources = models.JSONField(_("video sources"), default=list, blank=True)
    connected_at = models.DateTimeField(_("connected at"))
    last_seen_at = models.DateTimeField(_("last seen at"))
    dropped_at = models.DateTimeField(_("dropped at"), null=True, blank=True)

    class Meta:
        verbose_name = _("room connection")
        verbose_name_plural = _("room connections")
        constraints = [models.UniqueConstraint(fields=["room", "user", "session"], name="room_connection_session")]
        indexes = [models.Index(fields=["room", "dropped_at"], name="room_connection_live")]

    def __str__(self) -> str:
        return f"{self.uid} {self.user_id} {self.device}"


class RoomEvent(models.Model):
    """One entry of the room's ordered log (chat, presentation, annotation, join, decision, ...).

    ``seq`` orders the log and is what a reconnecting client asks to be replayed from; ``client_id``
    (the sender's own id for a message) makes a resent message a no-op, so delivery is at least once and
    every message is stored and shown once.
    """

    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField(_("sequence number"))
    kind = models.CharField(_("kind"), max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(
        USER, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    client_id = models.CharField(_("client id"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    # The FHIR record the entry was stored as (Communication/..., Media/...), once written.
    fhir_ref = models.CharField(_("FHIR record"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("room event")
        verbose_name_plural = _("room events")
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="room_event_seq"),
            models.UniqueConstraint(
                fields=["room", "actor", "client_id"], condition=~Q(client_id=""), name="room_event_client_id"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "fhir_ref"], name="room_event_fhir_pending", condition=Q(fhir_ref="")),
        ]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq} {self.kind}"


class Annotation(models.Model):
    """A mark drawn on a shared image or ECG, in coordinates relative to it (0..1), kept with the room."""

    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.CASCADE, related_name="annotations")
    event = models.OneToOneField(RoomEvent, verbose_name=_("log entry"), on_delete=models.CASCADE, related_name="+")
    target_ref = models.CharField(_("annotated record"), max_length=100)
    author = models.ForeignKey(USER, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+")
    shape = models.JSONField(_("shape"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("annotation")
        verbose_name_plural = _("annotations")
        ordering = ["room", "created_at"]
        indexes = [models.Index(fields=["room", "target_ref"], name="annotation_room_target")]

    def __str__(self) -> str:
        return f"{self.target_ref}: {self.shape.get('kind', '?')}"
