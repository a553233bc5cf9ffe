"""The devices API: the registry (site administrators), batch upload (site systems, OAuth2 client credentials
with a device scope), a patient's live state and trends, alarm limits, acknowledging alarms, saving strips."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.access.devices import (
    device_manage_check,
    devices_manageable,
    devices_site,
    ingest_actor_check,
    live_check,
)
from hub.api_errors import DomainError, NotFoundError
from hub.api_schema import errors
from hub.devices import alarms, selectors, services, strips
from hub.devices.constants import BY_KEY, DeviceKind, IngestPath
from hub.devices.ingest.buffer import buffer_recent
from hub.devices.ingest.pipeline import Refusal, message_from_json, message_ingest
from hub.devices.models import Device, Rejection
from hub.pagination import StrictLimitOffsetPagination

PATIENT_ID = r"^[A-Za-z0-9\-.]{1,64}$"


class DeviceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    site = serializers.CharField(source="site.code")
    key = serializers.CharField()
    kind = serializers.CharField()
    manufacturer = serializers.CharField()
    model = serializers.CharField(source="model_name")
    serial = serializers.CharField()
    ward = serializers.CharField()
    bed = serializers.CharField()
    fhir_id = serializers.CharField(help_text="Device/<id> under /fhir/")
    patient = serializers.SerializerMethodField(help_text="Patient/<id> the device is attached to now, or null")
    state = serializers.SerializerMethodField(help_text="online, offline or never")
    last_seen_at = serializers.DateTimeField(allow_null=True)
    rejected = serializers.IntegerField(help_text="messages refused at ingest")

    def get_patient(self, device) -> str | None:
        binding = next((b for b in device.bindings.all() if b.end is None), None)
        return binding.patient_ref if binding else None

    def get_state(self, device) -> str:
        return selectors.device_state(device, offline_seconds=settings.DEVICES_OFFLINE_SECONDS)


def _device(user, device_id: int) -> Device:
    device = Device.objects.select_related("site").filter(pk=device_id).first()
    if device is None:
        raise NotFoundError(_("No such device."))
    device_manage_check(user, device)
    return device


class DeviceListApi(APIView):
    """A site's devices (its administrators; the platform operator sees all), and registering one."""

    pagination_class = StrictLimitOffsetPagination

    @extend_schema_serializer(component_name="DeviceRegisterInput")
    class InputSerializer(serializers.Serializer):
        key = serializers.SlugField(max_length=64, help_text="the device's identifier, as in its MQTT topic")
        kind = serializers.ChoiceField(choices=DeviceKind.choices, default=DeviceKind.MONITOR)
        manufacturer = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        model = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        serial = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        ward = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        bed = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    @extend_schema(operation_id="devices_list", responses={200: DeviceSerializer(many=True), **errors(400)})
    def get(self, request):
        devices = devices_manageable(request.user, Device.objects.select_related("site").prefetch_related("bindings"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(devices.order_by("pk"), request, view=self)
        return paginator.get_paginated_response(DeviceSerializer(page, many=True).data)

    @extend_schema(
        operation_id="devices_register",
        request=InputSerializer,
        responses={201: DeviceSerializer, **errors(400, 409, 415)},
    )
    def post(self, request):
        site_code = devices_site(request.user)
        if not site_code:  # the platform operator registers through a site's administrator
            from hub.api_errors import ForbiddenError

            raise ForbiddenError(_("Site administrators register their site's devices."))
        from federation.sites.models import Site

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["model_name"] = values.pop("model")
        device = services.device_register(site=Site.objects.get(code=site_code), **values)
        return Response(DeviceSerializer(device).data, status=201)


class DeviceBindApi(APIView):
    """Attach the device to a patient of the site from now on (ending its current binding)."""

    @extend_schema_serializer(component_name="DeviceBindInput")
    class InputSerializer(serializers.Serializer):
        patient = serializers.RegexField(r"^Patient/[A-Za-z0-9\-.]{1,64}$", help_text="Patient/<id>")

    @extend_schema(
        operation_id="devices_bind", request=InputSerializer, responses={200: DeviceSerializer, **errors(400, 404, 415)}
    )
    def post(self, request, device_id: int):
        device = _device(request.user, device_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.device_bind(device=device, patient_ref=data.validated_data["patient"], user=request.user)
        return Response(DeviceSerializer(Device.objects.prefetch_related("bindings").get(pk=device.pk)).data)


class DeviceUnbindApi(APIView):
    """Detach the device from its patient: what it sends afterwards is refused."""

    @extend_schema(operation_id="devices_unbind", request=None, responses={200: DeviceSerializer, **errors(400, 404)})
    def post(self, request, device_id: int):
        device = _device(request.user, device_id)
        services.device_unbind(device=device, user=request.user)
        return Response(DeviceSerializer(Device.objects.prefetch_related("bindings").get(pk=device.pk)).data)


class NumericInput(serializers.Serializer):
    code = serializers.CharField(help_text="MDC code (147842), MDC reference id (MDC_ECG_HEART_RATE) or LOINC code")
    value = serializers.FloatField()
    unit = serializers.CharField(required=False, help_text="UCUM")
    time = serializers.DateTimeField(required=False)


class WaveInput(serializers.Serializer):
    code = serializers.CharField()
    rate = serializers.FloatField(help_text="samples per second")
    data = serializers.ListField(child=serializers.FloatField())
    time = serializers.DateTimeField(required=False, help_text="time of the first sample")


RESULT = inline_serializer(
    name="DeviceIngestResult",
    fields={
        "accepted": serializers.IntegerField(),
        "refused": serializers.IntegerField(),
        "results": inline_serializer(
            name="DeviceIngestMessageResult",
            fields={
                "index": serializers.IntegerField(),
                "status": serializers.ChoiceField(choices=["accepted", "refused"]),
                "error": serializers.CharField(
                    required=False,
                    help_text="malformed, unknown_device, unbound, unknown_code, unit, impossible_value, clock",
                ),
                "detail": serializers.CharField(required=False),
            },
            many=True,
        ),
    },
)


class IngestApi(APIView):
    """Batch upload from a site's gateway that speaks only HTTP: each message is taken or refused whole (a
    refused one is kept in the dead-letter view). Authenticate as the site's system: an OAuth2 client
    credentials token (``/o/token/``) with the scope ``system/Device.write`` or ``system/Observation.write``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="DeviceIngestInput")
    class InputSerializer(serializers.Serializer):
        messages = serializers.ListField(
            child=inline_serializer(
                name="DeviceMessage",
                fields={
                    "device": serializers.CharField(help_text="the device's identifier at the site"),
                    "time": serializers.DateTimeField(),
                    "numerics": NumericInput(many=True, required=False),
                    "waves": WaveInput(many=True, required=False),
                    "technical": serializers.ListField(child=serializers.CharField(), required=False),
                },
            ),
            max_length=1000,
        )

    @extend_schema(
        operation_id="devices_ingest", request=InputSerializer, responses={200: RESULT, **errors(400, 404, 415)}
    )
    def post(self, request):
        from federation.auth.services import actor_from_token, bearer_of

        raw = bearer_of(request._request)
        actor = actor_from_token(raw) if raw else None
        if actor is None:
            raise DomainError(
                _("A site system's OAuth2 bearer token is required."), code="unauthorized", status_code=401
            )
        ingest_actor_check(actor, actor.site)
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or len(body["messages"]) > 1000:
            raise DomainError(_('The body is {"messages": [...]}, at most 1000 of them.'))
        results, accepted = [], 0
        for index, item in enumerate(body["messages"]):
            key = item.get("device") if isinstance(item, dict) else None
            try:
                if not isinstance(key, str) or not key:
                    raise Refusal("malformed", _("Each message names its device."))
                message_ingest(
                    message_from_json(payload=item, site_code=actor.site, device_key=key, path=IngestPath.HTTP)
                )
            except Refusal as refusal:
                results.append({"index": index, "status": "refused", "error": refusal.reason, "detail": refusal.detail})
                continue
            accepted += 1
            results.append({"index": index, "status": "accepted"})
        return Response({"accepted": accepted, "refused": len(results) - accepted, "results": results})


LIVE = inline_serializer(
    name="DeviceLive",
    fields={
        "patient": serializers.CharField(),
        "devices": DeviceSerializer(many=True),
        "latest": serializers.DictField(help_text="device key -> its newest numerics"),
        "alarms": serializers.ListField(child=serializers.DictField()),
        "trends": serializers.DictField(help_text="parameter -> [[epoch seconds, min, median, max], ...]"),
        "limits": serializers.DictField(help_text="parameter -> [low, high, critical low, critical high]"),
    },
)


def live_payload(*, patient_ref: str, hours: int = 6) -> dict:
    devices = selectors.devices_of_patient(patient_ref)
    latest = {}
    for device in devices:
        frames = [f for f in buffer_recent(device.pk, 20) if f.get("numerics")]
        if frames:
            latest[device.key] = {"at": frames[-1]["at"], "numerics": frames[-1]["numerics"]}
    return {
        "patient": patient_ref,
        "devices": DeviceSerializer(
            Device.objects.filter(pk__in=[d.pk for d in devices]).select_related("site").prefetch_related("bindings"),
            many=True,
        ).data,
        "latest": latest,
        "alarms": [alarms.alarm_frame(a) for a in selectors.alarms_open(patient_ref=patient_ref)],
        "trends": selectors.trends(patient_ref=patient_ref, hours=hours),
        "limits": {k: list(v) for k, v in alarms.limits_of(patient_ref).items()},
    }


class PatientLiveApi(APIView):
    """A patient's attached devices, their newest numerics, open alarms, limits and trends (per-minute
    summaries). For whoever may read the patient's records; opening it is audited."""

    class FilterSerializer(serializers.Serializer):
        hours = serializers.IntegerField(min_value=1, max_value=72, default=6)

    @extend_schema(
        operation_id="devices_patient_live", parameters=[FilterSerializer], responses={200: LIVE, **errors(400, 404)}
    )
    def get(self, request, patient_id: str):
        patient_ref = f"Patient/{patient_id}"
        live_check(request.user, patient_ref)
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        from hub.devices.audit import live_audited

        live_audited(user=request.user, patient_ref=patient_ref, via="api")
        return Response(live_payload(patient_ref=patient_ref, hours=filters.validated_data["hours"]))


class ThresholdApi(APIView):
    """A treating clinician sets the patient's alarm limits for one parameter (null: no limit), or goes back to the
    age group's defaults (DELETE)."""

    @extend_schema_serializer(component_name="DeviceThresholdInput")
    class InputSerializer(serializers.Serializer):
        low = serializers.FloatField(allow_null=True)
        high = serializers.FloatField(allow_null=True)

    @extend_schema(
        operation_id="devices_threshold_set",
        request=InputSerializer,
        responses={200: InputSerializer, **errors(400, 404, 415)},
    )
    def put(self, request, patient_id: str, parameter: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        threshold = alarms.threshold_set(
            user=request.user, patient_ref=f"Patient/{patient_id}", parameter=parameter, **data.validated_data
        )
        return Response({"low": threshold.low, "high": threshold.high})

    @extend_schema(operation_id="devices_threshold_reset", request=None, responses={204: None, **errors(404)})
    def delete(self, request, patient_id: str, parameter: str):
        """Back to the age group's defaults for this parameter."""
        alarms.threshold_reset(user=request.user, patient_ref=f"Patient/{patient_id}", parameter=parameter)
        return Response(status=204)


ALARM = inline_serializer(
    name="DeviceAlarm",
    fields={
        "id": serializers.IntegerField(),
        "device": serializers.CharField(),
        "kind": serializers.CharField(),
        "priority": serializers.CharField(),
        "condition": serializers.CharField(),
        "message": serializers.CharField(),
        "raised_at": serializers.FloatField(),
        "acknowledged": serializers.BooleanField(),
        "escalated": serializers.BooleanField(),
    },
)


class AlarmAcknowledgeApi(APIView):
    """A treating clinician acknowledges an alarm (recorded as a DetectedIssue; the Flag becomes inactive)."""

    @extend_schema(operation_id="devices_alarm_acknowledge", request=None, responses={200: ALARM, **errors(404, 409)})
    def post(self, request, alarm_id: int):
        alarm = alarms.alarm_acknowledge(alarm_id=alarm_id, user=request.user)
        return Response(alarms.alarm_frame(alarm))


class StripApi(APIView):
    """Save the last seconds of a device's wave to the patient's record (an Observation with valueSampledData)."""

    @extend_schema_serializer(component_name="DeviceStripInput")
    class InputSerializer(serializers.Serializer):
        device = serializers.CharField(help_text="the device's identifier")
        wave = serializers.ChoiceField(choices=[k for k, p in BY_KEY.items() if p.wave])
        seconds = serializers.IntegerField(min_value=2, max_value=60, default=10)

    @extend_schema(
        operation_id="devices_strip_save",
        request=InputSerializer,
        responses={
            201: inline_serializer(
                name="DeviceStrip", fields={"id": serializers.IntegerField(), "observation": serializers.CharField()}
            ),
            **errors(400, 404, 415),
        },
    )
    def post(self, request, patient_id: str):
        patient_ref = f"Patient/{patient_id}"
        live_check(request.user, patient_ref)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = next(
            (d for d in selectors.devices_of_patient(patient_ref) if d.key == data.validated_data["device"]), None
        )
        if device is None:
            raise NotFoundError(_("No such device attached to this patient."))
        strip = strips.strip_save(
            device_id=device.pk,
            parameter=data.validated_data["wave"],
            user=request.user,
            seconds=data.validated_data["seconds"],
        )
        return Response({"id": strip.pk, "observation": f"Observation/{strip.observation_id}"}, status=201)


class RejectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    device = serializers.CharField()
    path = serializers.CharField()
    reason = serializers.CharField()
    detail = serializers.CharField()
    excerpt = serializers.CharField()
    received_at = serializers.DateTimeField()


class RejectionListApi(APIView):
    """The dead-letter view: messages refused at ingest for the caller's site's devices, newest first."""

    pagination_class = StrictLimitOffsetPagination

    @extend_schema(operation_id="devices_rejections", responses={200: RejectionSerializer(many=True), **errors(400)})
    def get(self, request):
        site = devices_site(request.user)
        rows = Rejection.objects.none() if site is None else Rejection.objects.all()
        if site:
            rows = rows.filter(site_code=site)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows.order_by("-received_at", "-pk"), request, view=self)
        return paginator.get_paginated_response(
            [
                {
                    "id": r.pk,
                    "device": r.device_key,
                    "path": r.path,
                    "reason": r.reason,
                    "detail": r.detail,
                    "excerpt": r.excerpt,
                    "received_at": r.received_at.isoformat(),
                }
                for r in page
            ]
        )
