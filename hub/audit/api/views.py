from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from hub.access.actors import rule_of_user
from hub.api_errors import ForbiddenError
from hub.api_schema import errors
from hub.audit.selectors import audit_event_list
from hub.pagination import StrictLimitOffsetPagination


class AuditEventListApi(APIView):
    """The audit trail: site administrators see their own site's; hub auditors and the platform operator all."""

    class FilterSerializer(serializers.Serializer):
        patient = serializers.RegexField(r"^Patient/[A-Za-z0-9\-.]{1,64}$", required=False)
        actor = serializers.CharField(required=False, max_length=128)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        success = serializers.BooleanField(required=False)  # "?success=" is a 400, not "either"

    class AuditEventOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        recorded_at = serializers.DateTimeField()
        actor_kind = serializers.CharField()
        actor_id = serializers.CharField()
        actor_display = serializers.CharField()
        actor_site = serializers.CharField()
        action = serializers.CharField()
        resource_type = serializers.CharField()
        fhir_id = serializers.CharField()
        patient = serializers.CharField()
        owner = serializers.CharField()
        status = serializers.IntegerField()
        success = serializers.BooleanField()
        detail = serializers.JSONField()

    serializer_class = AuditEventOutputSerializer
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        operation_id="audit_events",
        parameters=[FilterSerializer],
        responses={200: AuditEventOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        if rule_of_user(request.user).audit_sites() == frozenset():
            raise ForbiddenError(_("Only site administrators and hub auditors read the audit trail."))
        filters = self.FilterSerializer(data=request.query_params.dict())  # "?x=" is a value, not an absence
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        events = audit_event_list(
            user=request.user,
            patient=data.get("patient", ""),
            actor_id=data.get("actor", ""),
            since=data.get("since"),
            until=data.get("until"),
            success=data.get("success"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(self.AuditEventOutputSerializer(page, many=True).data)
