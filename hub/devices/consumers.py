"""The live view's websocket: ``/ws/devices/patients/<id>/``. Thin: it authenticates, asks the access rules
(the same entitlement as reading the patient's records; re-asked every ``RECHECK_SECONDS`` so a closed grant
closes the view), audits the opening, joins the patient's group and forwards its frames.

Server -> client: ``snapshot`` (devices, newest numerics, open alarms, limits, trends), ``vitals`` (numerics
and wave chunks as they arrive), ``alarm`` (raised, acknowledged, escalated), ``ack``, ``strip``, ``pong``,
``error``. Client -> server: ``ack`` {alarm}, ``strip`` {device, wave}, ``ping``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from django.utils.translation import gettext as _

from hub.access.devices import live_visible
from hub.api_errors import DomainError
from hub.devices.events import patient_group, viewer_loop_register
from hub.websockets import JsonConsumer, db

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
RECHECK_SECONDS = 30.0
FRAME_MAX = 4096


def _recheck_at() -> float:
    """When to ask the access rules again: within ``RECHECK_SECONDS``, at a random point of its second half, so
    that the views opened together (a ward's monitors on a wall screen, a server restart) do not all ask at
    once and hold up their frames."""
    return time.monotonic() + RECHECK_SECONDS * (0.5 + random.random() / 2)


class LiveConsumer(JsonConsumer):
    group = ""
    recheck_at = 0.0

    async def connect(self):
        user = self.scope.get("user")
        patient_id = self.scope["url_route"]["kwargs"]["patient_id"]
        self.patient_ref = f"Patient/{patient_id}"
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await db(self._admit)(user):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        viewer_loop_register(asyncio.get_running_loop())
        self.group = patient_group(self.patient_ref)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.recheck_at = _recheck_at()
        await self.accept()
        await self.send_json({"type": "snapshot", **await db(self._snapshot)()})

    def _admit(self, user) -> bool:
        from hub.devices.audit import live_audited

        if not live_visible(user, self.patient_ref):
            return False
        live_audited(user=user, patient_ref=self.patient_ref, via="websocket")
        return True

    def _snapshot(self) -> dict:
        from hub.devices.api.views import live_payload

        return live_payload(patient_ref=self.patient_ref)

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > FRAME_MAX:
            await self.error("invalid", _("Frames are JSON text of at most 4 kB."))
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.error("invalid_json", _("The frame is not JSON."))
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        try:
            if kind == "ping":
                await self.send_json({"type": "pong"})
            elif kind == "ack" and isinstance(frame.get("alarm"), int):
                alarm = await db(self._ack)(frame["alarm"])
                await self.send_json({"type": "ack", "alarm": alarm.pk})
            elif kind == "strip" and isinstance(frame.get("device"), str) and isinstance(frame.get("wave"), str):
                strip = await db(self._strip)(frame["device"], frame["wave"])
                await self.send_json(
                    {"type": "strip", "id": strip.pk, "observation": f"Observation/{strip.observation_id}"}
                )
            else:
                await self.error("unknown_type", _("Unknown or incomplete frame."))
        except DomainError as exc:
            await self.error(exc.code, exc.message)

    def _ack(self, alarm_id: int):
        from hub.devices.alarms import alarm_acknowledge
        from hub.devices.models import Alarm

        if not Alarm.objects.filter(pk=alarm_id, patient_ref=self.patient_ref).exists():
            from hub.api_errors import NotFoundError

            raise NotFoundError(_("No such alarm."))
        return alarm_acknowledge(alarm_id=alarm_id, user=self.scope["user"])

    def _strip(self, device_key: str, wave: str):
        from hub.access.devices import live_check
        from hub.api_errors import NotFoundError
        from hub.devices.selectors import devices_of_patient
        from hub.devices.strips import strip_save

        live_check(self.scope["user"], self.patient_ref)
        device = next((d for d in devices_of_patient(self.patient_ref) if d.key == device_key), None)
        if device is None:
            raise NotFoundError(_("No such device attached to this patient."))
        return strip_save(device_id=device.pk, parameter=wave, user=self.scope["user"])

    async def error(self, code: str, detail: str) -> None:
        await self.send_json({"type": "error", "code": code, "detail": str(detail)})

    async def device_frame(self, event):
        if time.monotonic() > self.recheck_at:
            self.recheck_at = _recheck_at()
            if not await db(live_visible)(self.scope["user"], self.patient_ref):
                await self.close(code=CLOSE_NOT_FOUND)
                return
        await self.send_json(event["frame"])
