"""The demo's consultation room: the in-progress chest-pain consultation of county A, with an ECG to present
and annotate, a few messages and a decision, ready for a county doctor on a phone and two specialists.

Rooms themselves open with the workflow (an accepted consultation, a submitted emergency); this adds the
room's content. Idempotent: nothing is added to a room that already has messages.
"""

from __future__ import annotations

import math
import struct
import zlib
from datetime import timedelta

from django.utils import timezone

from hub.consultations import services
from hub.consultations.constants import RoomStatus
from hub.consultations.fhir import binary_build, fhir_create_once, media_build
from hub.consultations.models import Room, RoomEvent
from hub.notifications.events import notifications_muted
from hub.referrals.models import Referral

WIDTH, HEIGHT = 960, 320


def _png(pixels: bytearray, width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(pixels[y * width * 3 : (y + 1) * width * 3]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def ecg_png() -> bytes:
    """A synthetic lead of an ECG with ST elevation on ECG paper (drawn here: no image files shipped)."""
    pixels = bytearray(b"\xff\xf4\xf4" * WIDTH * HEIGHT)

    def dot(x: int, y: int, color: tuple[int, int, int]) -> None:
        if 0 <= x < WIDTH and 0 <= y < HEIGHT:
            pixels[(y * WIDTH + x) * 3 : (y * WIDTH + x) * 3 + 3] = bytes(color)

    for x in range(0, WIDTH, 8):
        for y in range(HEIGHT):
            dot(x, y, (246, 200, 200) if x % 40 else (235, 150, 150))
    for y in range(0, HEIGHT, 8):
        for x in range(WIDTH):
            dot(x, y, (246, 200, 200) if y % 40 else (235, 150, 150))

    def beat(t: float) -> float:  # millivolts over one 0.8 s beat: P, QRS, an elevated ST segment, T
        wave = 0.12 * math.exp(-(((t - 0.12) / 0.03) ** 2))
        wave += -0.15 * math.exp(-(((t - 0.24) / 0.008) ** 2)) + 1.3 * math.exp(-(((t - 0.26) / 0.01) ** 2))
        wave += -0.3 * math.exp(-(((t - 0.28) / 0.008) ** 2))
        wave += 0.35 / (1 + math.exp(-(t - 0.3) / 0.005)) * (1 - 1 / (1 + math.exp(-(t - 0.42) / 0.02)))
        return wave + 0.35 * math.exp(-(((t - 0.5) / 0.05) ** 2))

    previous = None
    for x in range(WIDTH):
        seconds = x / 200  # 25 mm/s at 8 px/mm
        y = int(HEIGHT * 0.62 - beat(seconds % 0.8) * 80)
        if previous is not None:
            for step in range(min(previous, y), max(previous, y) + 1):
                dot(x, step, (20, 20, 20))
                dot(x, step + 1, (20, 20, 20))
        previous = y
    return _png(pixels, WIDTH, HEIGHT)


def _demo_room() -> Room | None:
    referral = (
        Referral.objects.filter(
            kind="consultation", pathway="chest_pain", requester__username="doctor1_a", status="in-progress"
        )
        .order_by("created_at")
        .first()
    )
    if referral is None:
        return None
    room = Room.objects.filter(referral=referral, status=RoomStatus.OPEN).first()
    return room or services.room_open(referral_id=referral.pk)


def demo_rooms_load() -> int:
    """Fill the demo room (once); returns the number of open rooms."""
    room = _demo_room()
    if room is None or RoomEvent.objects.filter(room=room, kind="chat").exists():
        return Room.objects.filter(status=RoomStatus.OPEN).count()
    referral = room.referral
    county, owner = referral.requester, referral.owner
    now = timezone.now()
    content = ecg_png()
    site = referral.requesting_site.code
    binary = fhir_create_once(resource=binary_build(content=content, content_type="image/png", room=room), owner=site)
    ecg = media_build(
        room=room,
        binary_ref=binary,
        content_type="image/png",
        size=len(content),
        title="十二导联心电图 V2 导联",
        operator=county,
        at=now - timedelta(minutes=20),
        width=WIDTH,
        height=HEIGHT,
    )
    ecg["type"]["text"] = "心电图"
    ecg["modality"] = {"text": "ECG"}
    media = fhir_create_once(resource=ecg, owner=site)
    with notifications_muted():
        for actor, text in (
            (county, "患者男，58岁，胸痛3小时，血压 100/65 mmHg，心率 96 次/分。"),
            (county, "已上传床旁心电图，请张主任看一下 V1-V4。"),
            (owner, "收到，我来共享心电图。"),
        ):
            services.message_post(room_id=room.pk, actor=actor, text=text, client_id=f"demo-{len(text)}-{actor.pk}")
        services.record_present(room_id=room.pk, actor=owner, reference=media)
        services.annotation_add(
            room_id=room.pk,
            actor=owner,
            target=media,
            shape={"kind": "circle", "points": [[0.33, 0.5], [0.38, 0.5]], "color": "#ff3b30"},
            client_id="demo-annotation-1",
        )
        services.message_post(
            room_id=room.pk, actor=owner, text="ST 段抬高明显，考虑急性前壁心肌梗死。", client_id="demo-opinion-1"
        )
    return Room.objects.filter(status=RoomStatus.OPEN).count()
