from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api_schema import errors


class MeApi(APIView):
    """Who am I: the authenticated user, their site, department and role."""

    class MeOutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        display_name = serializers.CharField()
        role = serializers.CharField()
        site = serializers.CharField(source="site.code", allow_null=True, default=None)
        site_name = serializers.CharField(source="site.name", allow_null=True, default=None)
        department = serializers.CharField(source="department.code", allow_null=True, default=None)

    @extend_schema(operation_id="me", responses={200: MeOutputSerializer, **errors()})
    def get(self, request):
        return Response(self.MeOutputSerializer(request.user).data)

    get.__doc__ = "The authenticated user."
    serializer_class = MeOutputSerializer
