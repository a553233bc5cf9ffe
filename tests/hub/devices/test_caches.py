"""The ingest's per-process caches: loaded for every attached device at the ingest's start, so the first message
of each asks the database nothing; entries loaded together do not expire together."""

from __future__ import annotations

import pytest

from hub.devices import caches
from hub.devices.ingest.pipeline import message_from_json, message_ingest

from .conftest import vitals


@pytest.mark.django_db
def test_warming_loads_every_attached_device_so_its_first_message_reads_nothing(
    bound, patient, django_assert_max_num_queries
):
    from hub.devices.services import device_register

    device_register(site=bound.site, key="mon-unattached", kind="monitor")  # not attached: not loaded
    assert caches.warm() == 1
    message = message_from_json(payload=vitals(hr=72), site_code=bound.site.code, device_key=bound.key, path="mqtt")
    # Only the writes of the message itself (its device's last-seen time); no reads of device, limits or alarms.
    with django_assert_max_num_queries(1) as captured:
        message_ingest(message)
    assert all(not q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries), [
        q["sql"] for q in captured.captured_queries
    ]


def test_entries_loaded_together_expire_at_different_times():
    import time

    expiries = {caches.expires() for _ in range(50)}
    now = time.monotonic()
    assert len(expiries) > 40
    assert all(now + caches.CACHE_SECONDS / 2 - 1 <= e <= now + caches.CACHE_SECONDS + 1 for e in expiries)
