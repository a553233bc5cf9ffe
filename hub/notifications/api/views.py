"""The user's own notifications: list them (``since`` an id, ``unread``) and mark them read."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api_schema import errors
from hub.notifications.selectors import notification_list
from hub.notifications.services import notifications_mark_read
from hub.pagination import StrictLimitOffsetPagination

MAX_ID = 2**63 - 1


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    payload = serializers.JSONField(help_text="the event's detail, e.g. the referral it is about")
    at = serializers.DateTimeField(source="created_at")
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationListApi(APIView):
    """The caller's notifications, oldest first; a client that was away asks for those after the last id it saw."""

    class FilterSerializer(serializers.Serializer):
        since = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID, help_text="ids after this")
        unread = serializers.BooleanField(required=False, allow_null=True, default=None)

    serializer_class = NotificationOutputSerializer
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        operation_id="notifications_list",
        parameters=[FilterSerializer],
        responses={200: NotificationOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        notifications = notification_list(
            user=request.user, since=filters.validated_data.get("since"), unread=filters.validated_data.get("unread")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(notifications, request, view=self)
        return paginator.get_paginated_response(NotificationOutputSerializer(page, many=True).data)


class NotificationReadApi(APIView):
    """Mark the caller's notifications read: those named by ``ids``, or every one up to ``up_to``."""

    class NotificationReadInputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=1000
        )
        up_to = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID)

        def validate(self, attrs):
            if "ids" not in attrs and "up_to" not in attrs:
                raise ValidationError({"ids": [_("Name the notifications (ids) or the last one to mark (up_to).")]})
            return attrs

    @extend_schema(
        operation_id="notifications_read",
        request=NotificationReadInputSerializer,
        responses={
            200: inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()}),
            **errors(400, 415),
        },
    )
    def post(self, request):
        body = self.NotificationReadInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        marked = notifications_mark_read(
            user=request.user, ids=body.validated_data.get("ids"), up_to=body.validated_data.get("up_to")
        )
        return Response({"marked": marked})
