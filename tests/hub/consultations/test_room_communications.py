"""Chat entries become FHIR Communications through a flush that runs after them (not one task per message):
with the real Redis broker and a real worker, a burst of messages queues a flush or two and every message still
gets its one Communication; an entry that cannot be written does not hold up the others."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.utils import timezone

from fhir_gateway.models import Resource
from hub.audit.models import AuditEvent
from hub.consultations import services
from hub.consultations.models import RoomEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(condition, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_burst_of_messages_queues_a_flush_or_two_and_each_gets_one_communication(
    celery_worker_on_redis, room, dr_li_at_county_a, cardiologist_zhang
):
    published = []

    def count(sender=None, **_kwargs):
        published.append(sender)

    before_task_publish.connect(count, weak=False)
    try:
        for n in range(30):
            user = dr_li_at_county_a if n % 2 else cardiologist_zhang
            services.message_post(room_id=room.pk, actor=user, text=f"第{n}条", client_id=f"burst-{n}")
        chat = RoomEvent.objects.filter(room=room, kind="chat")
        _wait(lambda: not chat.filter(fhir_ref="").exists())
    finally:
        before_task_publish.disconnect(count)
    flushes = [name for name in published if name == "consultations.communications_flush"]
    assert 1 <= len(flushes) <= 3, published  # 30 messages well inside a second or so: not 30 tasks
    references = [e.fhir_ref for e in chat.order_by("seq")]
    assert len(set(references)) == 30 and all(r.startswith("Communication/") for r in references)
    texts = {
        r.content["payload"][0]["contentString"]
        for r in Resource.objects.filter(resource_type="Communication", fhir_id__in=[r[14:] for r in references])
    }
    assert texts == {f"第{n}条" for n in range(30)}
    # Each create is audited as its own, as the hub's.
    audited = AuditEvent.objects.filter(action="create", resource_type="Communication", actor_kind="internal")
    assert sorted(f"Communication/{a.fhir_id}" for a in audited) == sorted(references)
    # A later flush (or the sweep) writes nothing twice.
    assert services.communications_flush() == 0
    assert Resource.objects.filter(resource_type="Communication").count() == 30


def test_an_entry_that_cannot_be_written_is_left_for_the_sweep_and_the_others_are_written(
    room, dr_li_at_county_a, caplog
):
    # An entry as no service writes it (empty text: a Communication with an empty string is not valid FHIR).
    broken = RoomEvent.objects.create(
        room=room,
        seq=900,
        kind="chat",
        actor=dr_li_at_county_a,
        data={"text": ""},
        client_id="broken",
        at=timezone.now(),
    )
    event = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="血压 90/60", client_id="m1")
    event.refresh_from_db()
    broken.refresh_from_db()
    assert event.fhir_ref.startswith("Communication/")
    assert broken.fhir_ref == ""
    assert "was not written" in caplog.text
    # Once it is the sweep's (30 s old), the flushes after each message no longer try it; the sweep does.
    RoomEvent.objects.filter(pk=broken.pk).update(at=timezone.now() - timedelta(seconds=40))
    caplog.clear()
    later = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="心率 110", client_id="m2")
    later.refresh_from_db()
    assert later.fhir_ref.startswith("Communication/")
    assert "was not written" not in caplog.text
    assert services.pending_fhir_store() == 0
    assert "was not written" in caplog.text
    broken.refresh_from_db()
    assert broken.fhir_ref == ""
