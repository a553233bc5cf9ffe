"""Break the glass over the API: open a record in an emergency, and the site administrators' review list."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.access import break_glass
from hub.access.constants import ReviewStatus
from hub.api_schema import errors
from hub.pagination import StrictLimitOffsetPagination


class GrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.CharField(source="patient_ref")
    clinician = serializers.CharField(source="user.username")
    clinician_site = serializers.CharField(source="user.site.code", default="")
    reason = serializers.CharField(source="justification")
    opened_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    patient_site = serializers.CharField()
    review = serializers.CharField(source="review_status")
    reviewed_by = serializers.CharField(source="reviewed_by.username", default=None, allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_note = serializers.CharField()


class BreakGlassOpenApi(APIView):
    """An emergency clinician opens a patient's record outside their normal rights, for a limited time."""

    @extend_schema_serializer(component_name="BreakGlassInput")
    class InputSerializer(serializers.Serializer):
        patient = serializers.RegexField(r"^Patient/[A-Za-z0-9\-.]{1,64}$", help_text="Patient/<id>")
        reason = serializers.CharField(max_length=2000, help_text="Why the record is needed now; reviewed later.")

    @extend_schema(
        operation_id="break_glass_open",
        request=InputSerializer,
        responses={201: GrantSerializer, **errors(400, 404, 415)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = break_glass.break_glass_open(
            user=request.user, patient_ref=data.validated_data["patient"], reason=data.validated_data["reason"]
        )
        return Response(GrantSerializer(grant).data, status=201)


class BreakGlassReviewListApi(APIView):
    """The emergency accesses to the caller's site's patients (site administrators), newest first."""

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)

    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        operation_id="break_glass_reviews",
        parameters=[FilterSerializer],
        responses={200: GrantSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        grants = break_glass.break_glass_reviews(user=request.user, status=filters.validated_data.get("status", ""))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(grants, request, view=self)
        return paginator.get_paginated_response(GrantSerializer(page, many=True).data)


class BreakGlassReviewApi(APIView):
    """Confirm one emergency access as justified, or report it (which also closes it)."""

    @extend_schema_serializer(component_name="BreakGlassReviewInput")
    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=[ReviewStatus.CONFIRMED, ReviewStatus.REPORTED])
        note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    @extend_schema(
        operation_id="break_glass_review",
        request=InputSerializer,
        responses={200: GrantSerializer, **errors(400, 404, 409, 415)},
    )
    def post(self, request, grant_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = break_glass.break_glass_review(user=request.user, grant_id=grant_id, **data.validated_data)
        return Response(GrantSerializer(grant).data)
