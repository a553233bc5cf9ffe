"""Listing, creating and reading requests; aggregates for officials."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from federation.sites.constants import Specialty
from hub.accounts.constants import Role
from hub.api_errors import ForbiddenError, NotFoundError
from hub.api_schema import errors
from hub.pagination import StrictLimitOffsetPagination
from hub.referrals import selectors, services
from hub.referrals.api.serializers import (
    ReferralCreatedSerializer,
    ReferralDetailSerializer,
    ReferralSummarySerializer,
    TimeNodeTimes,
    referral_created_data,
)
from hub.referrals.constants import Pathway, ReferralKind, StudyKind, TaskStatus, Urgency
from hub.referrals.web.audit import referral_refused, referrals_shown


def referral_for(request, referral_id: int):
    referral = selectors.referral_detail(user=request.user, referral_id=referral_id)
    if referral is None:
        referral_refused(request, referral_id, page="api-detail")
        raise NotFoundError(_("No such referral."))
    return referral


def detail_response(request, referral_id: int, status: int = 200) -> Response:
    referral = referral_for(request, referral_id)
    referrals_shown(request, [referral], action="read", page="api-detail")
    return Response(ReferralDetailSerializer(referral).data, status=status)


def _clinicians_only(request) -> None:
    if request.user.role not in (Role.COUNTY_DOCTOR, Role.SPECIALIST):
        raise ForbiddenError(_("Requests are for clinicians; officials see aggregates."))


class ConsentSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["written", "verbal", "electronic"], default="written")
    given_by = serializers.ChoiceField(choices=["patient", "family"], default="patient")
    given_at = serializers.DateTimeField(required=False)


class ReferralListCreateApi(APIView):
    """Requests visible to the caller (GET) and a new request (POST)."""

    class FilterSerializer(serializers.Serializer):
        scope = serializers.ChoiceField(choices=["all", "mine", "team", "requested"], default="all")
        status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
        kind = serializers.ChoiceField(choices=ReferralKind.choices, required=False)
        urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)

    @extend_schema_serializer(component_name="ReferralCreateInput")  # other APIs have an "InputSerializer" too
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ReferralKind.choices)
        urgency = serializers.ChoiceField(choices=Urgency.choices)
        pathway = serializers.ChoiceField(choices=Pathway.choices, default=Pathway.OTHER)
        study_kind = serializers.ChoiceField(
            choices=StudyKind.choices, required=False, help_text="what a remote diagnosis reads (required for one)"
        )
        patient = serializers.CharField(
            max_length=100,
            help_text="The patient, held by your site: Patient/<id>, or one of its identifiers as system|value, e.g. "
            "the resident ID urn:alliance:resident-id|<number> or the site's record number. The hub finds the "
            "person in the master patient index and records it with the request.",
        )
        clinical_question = serializers.CharField(max_length=4000)
        reason = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)
        target_specialty = serializers.ChoiceField(
            choices=Specialty.choices,
            required=False,
            help_text="the department's specialty to route to; optional for the emergency pathways, a named expert "
            "and down-referrals",
        )
        target_site = serializers.SlugField(required=False, help_text="site code; default: the general hospital")
        named_expert = serializers.CharField(required=False, help_text="username of a specialist")
        attachments = serializers.ListField(
            child=serializers.CharField(max_length=100), required=False, default=list, max_length=100
        )
        consent = ConsentSerializer(required=False, allow_null=True, default=None)
        discharge_summary = serializers.CharField(max_length=20000, required=False, default="", allow_blank=True)
        time_nodes = TimeNodeTimes(required=False, help_text="the pathway's first time points (door, first ECG...)")
        submit = serializers.BooleanField(default=True)

    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        operation_id="referral_list",
        parameters=[FilterSerializer],
        responses={200: ReferralSummarySerializer(many=True), **errors(400)},
    )
    def get(self, request):
        _clinicians_only(request)
        filters = self.FilterSerializer(data=request.query_params.dict())  # "?x=" is a value, not an absence
        filters.is_valid(raise_exception=True)
        queryset = selectors.referral_queue(user=request.user, scope=filters.validated_data["scope"])
        for field in ("status", "kind", "urgency"):
            if field in filters.validated_data:
                queryset = queryset.filter(**{field: filters.validated_data[field]})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        referrals_shown(request, page, action="search", page="api-list")
        return paginator.get_paginated_response(ReferralSummarySerializer(page, many=True).data)

    @extend_schema(
        operation_id="referral_create",
        request=InputSerializer,
        responses={201: ReferralCreatedSerializer, **errors(400, 404, 415)},
    )
    def post(self, request):
        _clinicians_only(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        consent = services.ConsentGiven(**data["consent"]) if data["consent"] is not None else None
        referral = services.referral_request(
            requester=request.user,
            target_site_code=data.get("target_site") or "",
            named_expert_username=data.get("named_expert") or "",
            kind=data["kind"],
            urgency=data["urgency"],
            pathway=data["pathway"],
            study_kind=data.get("study_kind", ""),
            patient_ref=data["patient"],
            clinical_question=data["clinical_question"],
            reason=data["reason"],
            target_specialty=data.get("target_specialty", ""),
            attachments=data["attachments"],
            consent=consent,
            discharge_summary=data["discharge_summary"],
            time_nodes=data.get("time_nodes") or {},
            submit=data["submit"],
        )
        return Response(referral_created_data(referral), status=201)


class ReferralDetailApi(APIView):
    """One request with its participants, history, routing decisions, times, sessions and opinions."""

    @extend_schema(operation_id="referral_detail", responses={200: ReferralDetailSerializer, **errors(404)})
    def get(self, request, referral_id: int):
        _clinicians_only(request)
        return detail_response(request, referral_id)


class ReferralStatisticsApi(APIView):
    """Aggregates only: officials and the hub's administrators see the alliance (or one site), a site's
    administrator their own site. Kept for existing clients; ``GET /api/dashboard/`` has periods, trends,
    sites, departments and the pathway KPIs."""

    class StatisticsSerializer(serializers.Serializer):
        total = serializers.IntegerField()
        by_status = serializers.DictField(child=serializers.IntegerField())
        by_kind = serializers.DictField(child=serializers.IntegerField())
        by_urgency = serializers.DictField(child=serializers.IntegerField())
        by_pathway = serializers.DictField(child=serializers.IntegerField())
        sla_breaches = serializers.IntegerField()
        breached_requests = serializers.IntegerField()

    @extend_schema(
        operation_id="referral_statistics",
        parameters=[OpenApiParameter("site", str, required=False, description="a site's code (officials)")],
        responses={200: StatisticsSerializer, **errors(404)},
    )
    def get(self, request):
        from hub.dashboards.scope import dashboard_scope

        scope = dashboard_scope(user=request.user, site_code=request.query_params.get("site") or "")
        return Response(selectors.referral_statistics(site_code=scope.site.code if scope.site else None))
