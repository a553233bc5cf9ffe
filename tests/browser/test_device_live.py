"""A specialist follows a referred county patient's bedside monitor on a phone: live numerics and a scrolling
ECG arrive over the websocket, the page has no horizontal overflow, an alarm can be acknowledged."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import horizontal_overflow, monitored_patient


@pytest.fixture
def monitored(transactional_db, county_a, admin_of_county_a, dr_li_at_county_a, cardiologist_zhang):
    return monitored_patient(
        county_a=county_a, admin=admin_of_county_a, doctor=dr_li_at_county_a, seed=41, key="mon-07", bed="7"
    )


def push(hr: float, spo2: float = 97):
    from datetime import UTC, datetime, timedelta

    from hub.devices.ingest.pipeline import message_from_json, message_ingest

    body = {
        "time": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
        "numerics": [{"code": "147842", "value": hr}, {"code": "150456", "value": spo2}],
        "waves": [{"code": "131330", "rate": 250, "data": [((i % 50) / 50.0) for i in range(250)]}],
    }
    message_ingest(message_from_json(payload=body, site_code="county-a", device_key="mon-07", path="mqtt"))


def test_a_specialist_sees_live_vitals_on_a_phone(page_for, phone, monitored, cardiologist_zhang):
    page = page_for(cardiologist_zhang, viewport=phone, language="en")
    page.goto(f"/devices/patients/{monitored['id']}/live/")
    page.wait_for_selector(".dv-state[data-state='live']")
    page.wait_for_selector(".dv-device")  # the snapshot named the monitor
    deadline = time.monotonic() + 15
    while True:
        push(88)
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.dv-hr .dv-value')].some(e => e.textContent === '88')",
                timeout=700,
            )
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
    assert page.locator(".dv-wave canvas").count() >= 1  # uPlot drew the ECG
    assert horizontal_overflow(page) == 0
    push(150, spo2=80)  # a high-priority alarm
    page.wait_for_selector(".dv-alarm.dv-high button")
    box = page.locator(".dv-alarm.dv-high button").bounding_box()
    assert box["height"] >= 44
    page.locator(".dv-alarm.dv-high button").first.click()
    page.wait_for_selector(".dv-alarm.dv-acked")
    assert horizontal_overflow(page) == 0
