"""Choices and limits of the consultation room."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoomStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ENDED = "ended", _("Ended")


class RoomRole(models.TextChoices):
    REQUESTER = "requester", _("Requesting doctor")
    OWNER = "owner", _("Responsible specialist")
    EXPERT = "expert", _("Invited expert")
    COUNTY = "county", _("County participant")


class EventKind(models.TextChoices):
    """What an entry of the room's ordered log is."""

    OPENED = "opened", _("Room opened")
    ADMITTED = "admitted", _("Admitted")
    JOINED = "joined", _("Joined")
    LEFT = "left", _("Left")
    REMOVED = "removed", _("Removed")
    CHAT = "chat", _("Message")
    PRESENTED = "presented", _("Presented")
    ANNOTATION = "annotation", _("Annotation")
    SNAPSHOT = "snapshot", _("Ultrasound snapshot")
    DECISION = "decision", _("Decision")
    ENDED = "ended", _("Room ended")


class DecisionKind(models.TextChoices):
    """Decisions taken in the room; diagnosis and treatment decision fill the pathway's time nodes."""

    DIAGNOSIS = "diagnosis", _("Diagnosis")
    DECISION = "decision", _("Treatment decision")
    NOTE = "note", _("Note")


class MediaMode(models.TextChoices):
    MESH = "mesh", _("Peer to peer (up to 4)")
    SFU = "sfu", _("Media server (LiveKit)")


class VideoSource(models.TextChoices):
    CAMERA = "camera", _("Camera")
    ULTRASOUND = "ultrasound", _("Ultrasound")
    SCREEN = "screen", _("Screen")


# Websocket close codes (4000-4999 are the application's).
CLOSE_NOT_FOUND = 4404  # no such room, or not admitted: one answer for both
CLOSE_REMOVED = 4403
CLOSE_ENDED = 4410
CLOSE_REPLACED = 4409  # the same device joined again on another connection

MESH_LIMIT = 4  # participants with video in a mesh; more need the SFU
CHAT_MAX = 4000
CLIENT_ID_MAX = 64
REPLAY_MAX = 500  # events replayed on a reconnect; older ones through the history API
RECONNECT_GRACE_SECONDS = 30  # a dropped connection counts as "left" only after this
HEARTBEAT_SECONDS = 10
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
SNAPSHOT_MAX_BYTES = 8 * 1024 * 1024
ANNOTATION_SHAPES = ("line", "arrow", "circle", "rect", "freehand", "point", "text")
ANNOTATION_POINTS_MAX = 500

ROOM_SOURCE = "urn:alliance-hub:consultations"
