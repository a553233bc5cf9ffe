"""What the room's API answers and takes, as its OpenAPI schema documents it (the frames of ``selectors``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from hub.accounts.api.fields import PIN_HELP, SigningPinField
from hub.consultations.constants import EventKind, MediaMode, RoomRole, RoomStatus, VideoSource


class RoomPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    site = serializers.CharField(allow_blank=True)
    role = serializers.CharField()


class RoomParticipantSerializer(RoomPersonSerializer):
    room_role = serializers.ChoiceField(choices=RoomRole.choices)
    admitted = serializers.BooleanField(help_text="false once removed")


class RoomSourceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=VideoSource.choices)
    stream = serializers.CharField()


class RoomConnectionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the connection's id (one per tab)")
    user = RoomPersonSerializer()
    device = serializers.CharField(allow_blank=True)
    label = serializers.CharField(allow_blank=True)
    audio_muted = serializers.BooleanField()
    video_muted = serializers.BooleanField()
    sources = RoomSourceSerializer(many=True)
    state = serializers.ChoiceField(choices=["connected", "reconnecting"])


class RoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    referral = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RoomStatus.choices)
    media_mode = serializers.ChoiceField(choices=MediaMode.choices)
    patient = serializers.CharField(help_text="Patient/<id>")
    opened_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    seq = serializers.IntegerField(help_text="the last entry of the room's log")
    presented = serializers.DictField(help_text="the record everyone is shown ({} when none)")
    encounter = serializers.CharField(allow_null=True, help_text="the session's Encounter once the room ended")
    participants = RoomParticipantSerializer(many=True)
    presence = RoomConnectionSerializer(many=True)


class RoomEventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["event"])
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EventKind.choices)
    id = serializers.CharField(allow_blank=True, help_text="the sender's id of the entry (dedupes a resend)")
    at = serializers.DateTimeField()
    actor = RoomPersonSerializer(allow_null=True)
    data = serializers.DictField()
    fhir = serializers.CharField(allow_blank=True, help_text="the entry's FHIR resource, once stored")


class RoomEventsSerializer(serializers.Serializer):
    events = RoomEventSerializer(many=True)
    truncated = serializers.BooleanField(help_text="older entries after `since` were left out")
    seq = serializers.IntegerField()


class IceServerSerializer(serializers.Serializer):
    urls = serializers.ListField(child=serializers.CharField())
    username = serializers.CharField(required=False)
    credential = serializers.CharField(required=False)


class IceServersSerializer(serializers.Serializer):
    ice_servers = IceServerSerializer(many=True)


@extend_schema_serializer(component_name="RoomAttachmentInput")
class AttachmentInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    id = serializers.CharField(max_length=64, help_text="the sender's id of the message (a resend is not doubled)")
    text = serializers.CharField(max_length=4000, required=False, allow_blank=True)


@extend_schema_serializer(component_name="RoomSnapshotInput")
class SnapshotInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="a JPEG or PNG still")
    id = serializers.CharField(max_length=64)
    source = serializers.ChoiceField(choices=VideoSource.choices, default=VideoSource.ULTRASOUND)
    width = serializers.IntegerField(min_value=1, max_value=10000, required=False)
    height = serializers.IntegerField(min_value=1, max_value=10000, required=False)


@extend_schema_serializer(component_name="RoomInviteInput")
class InviteInputSerializer(serializers.Serializer):
    usernames = serializers.ListField(child=serializers.CharField(max_length=150), min_length=1, max_length=20)


@extend_schema_serializer(component_name="RoomEndInput")
class EndInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    conclusion = serializers.CharField(
        max_length=20000,
        required=False,
        default="",
        allow_blank=True,
        help_text="With a conclusion the responsible specialist signs the opinion as the room ends (needs `pin`).",
    )
    recommendations = serializers.CharField(max_length=20000, required=False, default="", allow_blank=True)
    pin = SigningPinField(required=False, help_text="Required with a conclusion (it signs the opinion). " + PIN_HELP)

    def validate(self, data):
        if data.get("conclusion", "").strip() and not data.get("pin"):
            raise serializers.ValidationError({"pin": [_("Signing the opinion needs your signing PIN.")]})
        return data
