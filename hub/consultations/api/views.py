"""The room's HTTP side: its state and log (also after it ended), files and snapshots, invitations,
removal, the end with the opinion, ICE servers. One view per operation: parse, call one service, answer.
"""

from __future__ import annotations

import base64

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api_errors import DomainError, NotFoundError
from hub.api_schema import errors
from hub.consultations import media, selectors, services
from hub.consultations.api.serializers import (
    AttachmentInputSerializer,
    EndInputSerializer,
    IceServersSerializer,
    InviteInputSerializer,
    RoomEventSerializer,
    RoomEventsSerializer,
    RoomSerializer,
    SnapshotInputSerializer,
)
from hub.consultations.audit import room_audited
from hub.consultations.fhir import fhir_read_internal
from hub.consultations.services.log import record_read_as
from hub.referrals.selectors import user_by_username


def _room(request, room_id: int, **kwargs):
    return selectors.room_for_participant(user=request.user, room_id=room_id, **kwargs)


def _room_data(room) -> dict:
    return {
        "id": room.pk,
        "referral": room.referral_id,
        "status": room.status,
        "media_mode": room.media_mode,
        "patient": room.patient_ref,
        "opened_at": room.opened_at,
        "started_at": room.started_at,
        "ended_at": room.ended_at,
        "seq": room.last_seq,
        "presented": room.presented,
        "encounter": f"Encounter/{room.encounter_id}" if room.encounter_id else None,
        "participants": [
            selectors.participant_frame(p) for p in room.participants.select_related("user", "user__site")
        ],
        "presence": [selectors.connection_frame(c) for c in selectors.live_connections(room=room)],
    }


class RoomOpenApi(APIView):
    """Open the room of a request (or get the open one)."""

    serializer_class = RoomSerializer

    @extend_schema(operation_id="room_open", request=None, responses={201: RoomSerializer, **errors(404, 409)})
    def post(self, request, referral_id: int):
        room = services.room_open(referral_id=referral_id, actor=request.user)
        return Response(_room_data(room), status=status.HTTP_201_CREATED)


class RoomDetailApi(APIView):
    """The room: who is admitted, who is connected, what is shown."""

    serializer_class = RoomSerializer

    @extend_schema(operation_id="room_detail", responses={200: RoomSerializer, **errors(404)})
    def get(self, request, room_id: int):
        room, _participant = _room(request, room_id)
        room_audited(user=request.user, room=room, action="read", what="room")
        return Response(_room_data(room))


class RoomEventsApi(APIView):
    """The room's ordered log after ``since`` (chat, presentations, decisions, ...), readable after the end."""

    class FilterSerializer(serializers.Serializer):
        since = serializers.IntegerField(min_value=0, default=0)
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)

    serializer_class = RoomEventsSerializer

    @extend_schema(
        operation_id="room_events",
        parameters=[FilterSerializer],
        responses={200: RoomEventsSerializer, **errors(400, 404)},
    )
    def get(self, request, room_id: int):
        params = self.FilterSerializer(data=request.query_params.dict())  # "?x=" is a value, not an absence
        params.is_valid(raise_exception=True)
        room, _participant = _room(request, room_id)
        events, truncated = selectors.events_since(
            room=room, since=params.validated_data["since"], limit=params.validated_data["limit"]
        )
        room_audited(user=request.user, room=room, action="read", what="history")
        return Response({"events": events, "truncated": truncated, "seq": room.last_seq})


def _upload(request, field: str = "file"):
    upload = request.FILES.get(field)
    if upload is None:
        raise DomainError(_("Attach a file."), code="invalid_file")
    return upload.read(), (upload.content_type or "").split(";")[0].strip().lower(), upload.name or ""


class AttachmentApi(APIView):
    """An image or file in the chat (multipart: ``file``, ``id``, optional ``text``)."""

    parser_classes = [MultiPartParser]
    serializer_class = RoomEventSerializer

    @extend_schema(
        operation_id="room_attachment",
        request={"multipart/form-data": AttachmentInputSerializer},
        responses={
            200: OpenApiResponse(RoomEventSerializer, description="already stored (a resend)"),
            201: RoomEventSerializer,
            **errors(400, 404, 409, 415),
        },
    )
    def post(self, request, room_id: int):
        content, content_type, name = _upload(request)
        event = services.attachment_post(
            room_id=room_id,
            actor=request.user,
            content=content,
            content_type=content_type,
            name=name,
            text=request.data.get("text", ""),
            client_id=request.data.get("id"),
        )
        return Response(selectors.event_frame(event), status=200 if event.duplicate else 201)


class SnapshotApi(APIView):
    """A still of a shared video (multipart: ``file`` JPEG/PNG, ``id``, ``source``, ``width``, ``height``)."""

    parser_classes = [MultiPartParser]
    serializer_class = RoomEventSerializer

    @extend_schema(
        operation_id="room_snapshot",
        request={"multipart/form-data": SnapshotInputSerializer},
        responses={
            200: OpenApiResponse(RoomEventSerializer, description="already stored (a resend)"),
            201: RoomEventSerializer,
            **errors(400, 404, 409, 415),
        },
    )
    def post(self, request, room_id: int):
        data = SnapshotInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        content, content_type, _name = _upload(request)
        event = services.snapshot_store(
            room_id=room_id,
            actor=request.user,
            content=content,
            content_type=content_type,
            source=data.validated_data["source"],
            width=data.validated_data.get("width"),
            height=data.validated_data.get("height"),
            client_id=data.validated_data["id"],
        )
        return Response(selectors.event_frame(event), status=200 if event.duplicate else 201)


class MediaContentApi(APIView):
    """The image of a Media of the room's patient (read as the caller through the gateway: checked, audited)."""

    serializer_class = None

    @extend_schema(
        operation_id="room_media_content",
        parameters=[OpenApiParameter("media_id", str, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9\-.]{1,64}$")],
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="the image"),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="the image"),
            **errors(404),
        },
    )
    def get(self, request, room_id: int, media_id: str):
        room, _participant = _room(request, room_id)
        media_resource = record_read_as(room=room, user=request.user, reference=f"Media/{media_id}")
        url = (media_resource.get("content") or {}).get("url", "")
        binary = fhir_read_internal(reference=url) if url.startswith("Binary/") else None
        if binary is None or not binary.get("data"):
            raise NotFoundError(_("No such image."))
        response = HttpResponse(base64.b64decode(binary["data"]), content_type=binary.get("contentType", ""))
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class RecordApi(APIView):
    """One record of the room's patient as the caller may read it (what "present" shows)."""

    @extend_schema(
        operation_id="room_record",
        parameters=[
            OpenApiParameter("resource_type", str, OpenApiParameter.PATH, enum=sorted(selectors.RECORD_TYPES)),
            OpenApiParameter("fhir_id", str, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9\-.]{1,64}$"),
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="the FHIR resource"), **errors(404)},
    )
    def get(self, request, room_id: int, resource_type: str, fhir_id: str):
        room, _participant = _room(request, room_id)
        return Response(record_read_as(room=room, user=request.user, reference=f"{resource_type}/{fhir_id}"))


class ParticipantsApi(APIView):
    """Invite experts or county colleagues (the responsible specialist)."""

    serializer_class = RoomSerializer

    @extend_schema(
        operation_id="room_invite",
        request=InviteInputSerializer,
        responses={201: RoomSerializer, **errors(400, 404, 409, 415)},
    )
    def post(self, request, room_id: int):
        data = InviteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _room(request, room_id)
        invitees = [user_by_username(name) for name in data.validated_data["usernames"]]
        services.participant_invite(room_id=room_id, actor=request.user, invitees=invitees)
        room, _participant = _room(request, room_id)
        return Response(_room_data(room), status=status.HTTP_201_CREATED)


class ParticipantRemoveApi(APIView):
    """Remove someone from the room: their access ends and their connections close at once."""

    @extend_schema(
        operation_id="room_participant_remove",
        responses={204: OpenApiResponse(description="removed"), **errors(400, 404, 409)},
    )
    def delete(self, request, room_id: int, user_id: int):
        from hub.accounts.models import User

        _room(request, room_id)
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            raise NotFoundError(_("No such participant."))
        services.participant_remove(room_id=room_id, actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomEndApi(APIView):
    """End the room; with a conclusion, the responsible specialist signs the opinion at the same time."""

    serializer_class = RoomSerializer

    @extend_schema(
        operation_id="room_end",
        request=EndInputSerializer,
        responses={200: RoomSerializer, **errors(400, 404, 409, 415)},
    )
    def post(self, request, room_id: int):
        data = EndInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _room(request, room_id)
        room = services.room_end(room_id=room_id, actor=request.user, **data.validated_data)
        return Response(_room_data(room))


class IceServersApi(APIView):
    """Fresh ICE servers (TURN credentials expire): a client asks again before an ICE restart."""

    serializer_class = IceServersSerializer

    @extend_schema(operation_id="room_ice_servers", responses={200: IceServersSerializer, **errors(404)})
    def get(self, request, room_id: int):
        room, _participant = _room(request, room_id, open_only=True)
        return Response({"ice_servers": media.ice_servers(user_id=request.user.pk)})
