"""The officials' network dashboard in a real browser: phone and PC, Chinese and English, its numbers equal to
the exports' and to a count in the database; an official compares sites over a quarter and exports it."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from federation.sites.constants import Specialty
from hub.referrals import services
from hub.referrals.models import Referral
from tests.browser.conftest import horizontal_overflow
from tests.factories import DepartmentFactory, UserFactory
from tests.hub.dashboards.conftest import refer
from tests.hub.referrals.conftest import store

openpyxl = pytest.importorskip("openpyxl")

# English labels that must not appear on the Chinese page (every label is in the page's language).
ENGLISH_LABELS = [
    "Requests",
    "Up-referrals",
    "Down-referrals",
    "Requesting side",
    "Receiving side",
    "door-to-balloon",
    "FMC-to-ECG",
    "Share meeting the target",
    "Data feed health",
    "Trend",
    "Export",
    "Chest pain",
]


def _quarter_of(day: date) -> tuple[str, datetime, datetime]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = timezone.make_aware(datetime(day.year, first_month, 1))
    end_year, end_month = (day.year, first_month + 3) if first_month < 10 else (day.year + 1, 1)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}", start, timezone.make_aware(datetime(end_year, end_month, 1))


@pytest.fixture
def network(transactional_db, alliance, general_hospital, county_a, county_b, cardiology, neurology, official_wang):
    """Requests from county A and county B over a past quarter (and one in the quarter before), a draft and one
    about a test patient that are not counted."""
    from tests.factories import patient_resource

    emergency = DepartmentFactory(
        site=county_a, code="emergency", name="急诊科", name_en="Emergency", specialty=Specialty.EMERGENCY
    )
    dr_li = UserFactory(
        username="dr_li", display_name="李明", role="county_doctor", site=county_a, department=emergency
    )
    dr_zhao = UserFactory(username="dr_zhao", display_name="赵敏", role="county_doctor", site=county_b)
    zhang = UserFactory(
        username="cardiologist_zhang",
        display_name="张建华",
        role="specialist",
        site=general_hospital,
        department=cardiology,
    )
    UserFactory(username="neurologist_zhou", role="specialist", site=general_hospital, department=neurology)
    a = "Patient/" + store(patient_resource(1), owner="county-a")["id"]
    b = "Patient/" + store(patient_resource(2, region="411322"), owner="county-b")["id"]
    test_patient = patient_resource(3)
    test_patient["meta"] = {
        "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}]
    }
    t = "Patient/" + store(test_patient, owner="county-a")["id"]

    code, start, end = _quarter_of(timezone.localdate() - timedelta(days=100))  # a whole past quarter
    at = start + timedelta(days=3, hours=9)
    for n in range(3):
        r = refer(
            dr_li,
            a,
            at=at + timedelta(days=7 * n),
            nodes={
                "first_medical_contact": -20,
                "first_ecg": -12 + n * 4,
                "door": -10,
                "needle_or_balloon": 60 + 20 * n,
            },
        )
        if n == 0:
            services.task_accept(referral_id=r.pk, actor=zhang, now=at + timedelta(minutes=5))
    refer(dr_li, a, at=at + timedelta(days=20), kind="up_referral")
    refer(dr_zhao, b, at=at + timedelta(days=9), pathway="other", target_specialty="neurology")
    refer(
        dr_zhao,
        b,
        at=at + timedelta(days=30),
        urgency="emergency",
        pathway="stroke",
        nodes={"door": -30, "needle_or_balloon": 15},
    )
    refer(dr_li, a, at=at + timedelta(days=10), submit=False)  # a draft
    refer(dr_li, t, at=at + timedelta(days=10))  # test data
    refer(dr_zhao, b, at=start - timedelta(days=20))  # the quarter before
    counted = Referral.objects.filter(submitted_at__gte=start, submitted_at__lt=end, is_test=False).exclude(
        status="draft"
    )
    return {"quarter": code, "counted": counted.count(), "official": official_wang}


def _tables(page) -> dict[str, list[list[str]]]:
    """Every table of the page: its caption, then its rows of cell texts ("—" for none, as shown)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('table.kpi-table')].map(t => [
            t.dataset.table,
            [[...t.querySelectorAll('thead th')].map(h => h.textContent.trim()),
             ...[...t.querySelectorAll('tbody tr')].map(r => [...r.children].map(c => c.textContent.trim()))]
        ]))"""
    )


def _choose_quarter(page, quarter: str) -> None:
    page.goto("/dashboard/")
    page.select_option("#id_kind", "quarter")
    page.select_option("#id_quarter", quarter)
    page.click("#picker button[type=submit]")
    page.wait_for_load_state()


def test_an_official_compares_sites_over_a_chosen_quarter_and_exports_it(page_for, pc, network):
    from hub.dashboards.tables import cell_text

    page = page_for(network["official"], viewport=pc, language="zh-hans")
    _choose_quarter(page, network["quarter"])

    assert f"period={network['quarter']}" in page.url or f"quarter={network['quarter']}" in page.url
    assert page.locator('[data-kpi="requests"]').inner_text() == str(network["counted"]) == "6"
    tables = _tables(page)
    requesting = {row[0]: row[1] for row in tables["sites_requesting"][1:]}
    receiving = {row[0]: row[1] for row in tables["sites_receiving"][1:]}
    assert requesting["东川县人民医院"] == "4" and requesting["西河县人民医院"] == "2"
    assert receiving["示范市第一人民医院"] == "6" and "示范市医联体" not in requesting  # the alliance is not a site
    assert page.locator("#chart-places svg").count() == 1  # the comparison is drawn

    with page.expect_download() as download:
        page.click("#export-xlsx")
    assert download.value.suggested_filename == f"alliance-dashboard-{network['quarter']}.xlsx"
    with open(download.value.path(), "rb") as file:
        book = openpyxl.load_workbook(io.BytesIO(file.read()))
    with page.expect_download() as download:
        page.click("#export-csv")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    rows = [row for row in csv.reader(io.StringIO(text))]

    kinds = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('table.kpi-table')].map(t => [
            t.dataset.table, [...t.querySelectorAll('thead th')].map(h => h.className)]))"""
    )
    sheets = book.sheetnames[1:]
    assert len(sheets) == len(tables)
    for (key, shown), sheet in zip(tables.items(), sheets, strict=True):
        exported = [list(r) for r in book[sheet].iter_rows(values_only=True)]
        assert exported[0] == shown[0], key  # the same headings, in the page's language
        as_shown = [
            [
                (value if isinstance(value, str) else cell_text(kind, value)) or "—"  # Yes/No are written as text
                for kind, value in zip(kinds[key], row, strict=True)
            ]
            for row in exported[1:]
        ]
        body = [r for r in shown[1:] if r != ["—"]]
        assert as_shown == body, key
        captions = page.evaluate(f"() => document.querySelector('#table-{key} caption').textContent.trim()")
        start = rows.index([captions]) + 1  # the CSV has the same table under the same title and headings
        assert rows[start] == shown[0], key
        csv_body = [[c or "—" for c in r] for r in rows[start + 1 : start + 1 + len(body)]]
        assert csv_body == body, key
    requests_label = tables["summary"][1][0]  # the summary's first line: the requests
    summary = {row[0]: row[1] for row in book[sheets[0]].iter_rows(min_row=2, values_only=True)}
    assert summary[requests_label] == network["counted"]  # the export's count is the database's


def test_the_dashboard_fits_a_phone_in_chinese_with_every_label_in_chinese(page_for, phone, network):
    page = page_for(network["official"], viewport=phone, language="zh-hans")
    _choose_quarter(page, network["quarter"])

    assert horizontal_overflow(page) == 0
    assert page.locator("#chart-trend svg").count() == 1
    text = page.locator("main").inner_text()
    assert "进门至球囊扩张" in text and "发起方" in text and "接收方" in text
    assert [label for label in ENGLISH_LABELS if label in text] == []
    box = page.locator("#export-xlsx").bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= 360  # a tap target, on screen


def test_the_dashboard_fits_a_phone_in_english_and_drills_down_to_a_department(page_for, phone, network):
    page = page_for(network["official"], viewport=phone, language="en")
    _choose_quarter(page, network["quarter"])

    assert horizontal_overflow(page) == 0
    assert "door-to-balloon <= 90 min" in page.locator("main").inner_text()
    page.locator('#table-sites_requesting a[href*="site=county-a"]').click()
    page.wait_for_load_state()
    assert "site=" in page.url and horizontal_overflow(page) == 0
    page.locator("#table-departments_requesting a", has_text="Emergency").click()
    page.wait_for_load_state()
    assert "department=emergency" in page.url
    assert page.locator('[data-kpi="requests"]').inner_text() == "4"
    assert page.locator(".crumbs li").count() == 3  # alliance › county A › emergency


def test_the_dashboard_on_a_pc_in_both_languages_with_labelled_controls_and_charts(page_for, pc, network):
    for language, title in (("zh-hans", "医联体运行监测"), ("en", "Network dashboard")):
        page = page_for(network["official"], viewport=pc, language=language)
        _choose_quarter(page, network["quarter"])
        assert page.locator("h1").inner_text() == title
        assert horizontal_overflow(page) == 0
        assert page.locator(".chart svg").count() >= 3
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('#picker select, #picker input:not([type=hidden])')]
                  .filter(f => !document.querySelector(`label[for="${f.id}"]`)).map(f => f.name)"""
        )
        assert unlabelled == []
        charts = page.evaluate(
            "() => [...document.querySelectorAll('.chart')]"
            ".map(c => [c.getAttribute('role'), c.getAttribute('aria-labelledby')])"
        )
        assert charts and all(role == "img" and named for role, named in charts)


def test_the_dashboard_has_no_serious_accessibility_violation(page_for, phone, pc, network):
    """axe-core's WCAG 2.1 A/AA rules (its runner comes with the clinicians' pages' browser tests)."""
    axe = pytest.importorskip("tests.browser.axe", reason="tests/browser/axe.py (axe-core) is not here yet")
    for viewport, language in ((phone, "zh-hans"), (pc, "en")):
        page = page_for(network["official"], viewport=viewport, language=language)
        _choose_quarter(page, network["quarter"])
        assert axe.axe_violations(page) == [], language
        page.locator('#table-sites_requesting a[href*="site=county-a"]').click()
        page.wait_for_load_state()
        assert axe.axe_violations(page) == [], language
