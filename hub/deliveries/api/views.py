"""The outbox's deliveries for site administrators: dead letters (or another state) and their re-send."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api_schema import errors
from hub.deliveries.services import STATES, delivery_list, delivery_resend
from hub.pagination import StrictLimitOffsetPagination


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    kind = serializers.CharField()
    destination = serializers.CharField()
    site = serializers.CharField(source="site_code")
    subject = serializers.CharField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField()
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    dead_at = serializers.DateTimeField(allow_null=True)
    dead_reason = serializers.CharField()


class DeliveryListApi(APIView):
    """Deliveries concerning the caller's site (all sites for the platform operator), newest first."""

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=STATES, required=False, default="dead")
        site = serializers.RegexField(r"^[A-Za-z0-9_.\-]{1,64}$", required=False)

    serializer_class = DeliveryOutputSerializer
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        operation_id="outbox_deliveries",
        parameters=[FilterSerializer],
        responses={200: DeliveryOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        deliveries = delivery_list(
            user=request.user, state=filters.validated_data["state"], site=filters.validated_data.get("site", "")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class DeliveryResendApi(APIView):
    """Send a dead letter again now, with a fresh retry window."""

    @extend_schema(
        operation_id="outbox_delivery_resend",
        request=None,
        responses={200: DeliveryOutputSerializer, **errors(404)},
    )
    def post(self, request, message_id: int):
        with transaction.atomic():
            message = delivery_resend(user=request.user, message_id=message_id)
        return Response(DeliveryOutputSerializer(message).data)
