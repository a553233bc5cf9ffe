"""A referred specialist changes a patient's alarm limits on the live page from a phone (360 px): the row shows
the age group's default, then the patient's own limit once saved, then the default again; a refused value is
explained in its row; the page never scrolls sideways and its policy blocks nothing (no inline script)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import horizontal_overflow, monitored_patient


@pytest.fixture
def referred(transactional_db, county_a, admin_of_county_a, dr_li_at_county_a, cardiologist_zhang):
    return monitored_patient(
        county_a=county_a, admin=admin_of_county_a, doctor=dr_li_at_county_a, seed=43, key="mon-09", bed="9"
    )


def test_a_specialist_changes_an_alarm_limit_on_a_phone(page_for, phone, referred, cardiologist_zhang):
    from hub.devices.models import Threshold

    page = page_for(cardiologist_zhang, viewport=phone, language="en")
    page.goto(f"/devices/patients/{referred['id']}/live/")
    row = page.locator("form.dv-limit[data-parameter='hr']")
    assert row.locator(".dv-limit-source").inner_text() == "age-group default"
    assert row.locator("input[name='high']").input_value() == "120"
    assert horizontal_overflow(page) == 0
    assert row.locator("button[type='submit']").bounding_box()["height"] >= 44

    # A low limit above the high one: refused, said in the row, what was typed kept
    row.locator("input[name='low']").fill("130")
    row.locator("button[type='submit']").click()
    row = page.locator("form.dv-limit[data-parameter='hr']")
    assert "The low limit must be below the high limit." in row.locator(".dv-limit-error").inner_text()
    assert row.locator("input[name='low']").input_value() == "130"
    assert horizontal_overflow(page) == 0
    assert not Threshold.objects.exists()

    # A limit that can be: saved, shown as the patient's own
    row.locator("input[name='low']").fill("45")
    row.locator("input[name='high']").fill("110")
    row.locator("button[type='submit']").click()
    page.wait_for_url("**/live/#dv-limits")
    row = page.locator("form.dv-limit[data-parameter='hr']")
    assert row.locator("input[name='high']").input_value() == "110"
    assert row.locator("input[name='low']").input_value() == "45"
    assert row.locator(".dv-limit-source").inner_text() == "the patient's own"
    assert page.locator(".messages .success").inner_text() == "Alarm limits saved."
    assert horizontal_overflow(page) == 0
    threshold = Threshold.objects.get()
    assert (threshold.parameter, threshold.low, threshold.high) == ("hr", 45, 110)

    # Back to the age group's defaults
    row.locator("button[name='reset']").click()
    page.wait_for_selector("form.dv-limit[data-parameter='hr'] .dv-limit-source[data-own='false']")
    row = page.locator("form.dv-limit[data-parameter='hr']")
    assert row.locator("input[name='high']").input_value() == "120"
    assert row.locator("button[name='reset']").count() == 0
    assert page.locator(".messages .success").inner_text() == "The age group's default limits apply again."
    assert horizontal_overflow(page) == 0
    assert not Threshold.objects.exists()


def test_the_limits_read_in_chinese_on_a_pc_and_only_the_treating_may_edit(
    page_for, pc, phone, referred, dr_li_at_county_a, admin_of_county_a
):
    page = page_for(dr_li_at_county_a, viewport=pc)
    page.goto(f"/devices/patients/{referred['id']}/live/")
    assert page.locator("#dv-limits-title").inner_text() == "报警限值"
    assert page.locator("form.dv-limit[data-parameter='spo2'] .dv-limit-source").inner_text() == "年龄组默认值"
    assert horizontal_overflow(page) == 0
    # the site's administrator sees the monitor, and the limits without a form
    page = page_for(admin_of_county_a, viewport=phone, language="en")
    page.goto(f"/devices/patients/{referred['id']}/live/")
    assert page.locator(".dv-limit[data-parameter='hr']").count() == 1
    assert page.locator("form.dv-limit").count() == 0
    assert horizontal_overflow(page) == 0
