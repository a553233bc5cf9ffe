"""CSV and XLSX files of the dashboard: the page's tables (``dashboard_tables``), cell for cell."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from hub.dashboards.tables import MINUTES, MOMENT, SHARE, YES_NO, Table, cell_text


def _heading(payload: dict) -> list[list[str]]:
    scope, period = payload["scope"], payload["period"]
    where = " / ".join(p["name"] for p in (scope["site"], scope["department"]) if p) or _("The whole alliance")
    return [
        [_("Alliance Hub network dashboard")],
        [_("Scope"), where],
        [_("Period"), f"{period['start'].isoformat()} – {period['end'].isoformat()}"],
        [_("Aggregates only: no patient's request is shown here.")],
    ]


def export_csv(*, payload: dict, tables: list[Table]) -> bytes:
    """One CSV file, the tables one after another under their titles (UTF-8 with a BOM, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(_heading(payload))
    for table in tables:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow([heading for heading, _kind in table.columns])
        for row in table.rows:
            writer.writerow([cell_text(kind, value) for (_h, kind), value in zip(table.columns, row, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_title(title: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    clean = "".join("-" if c in "[]:*?/\\" else c for c in title)[:28]
    name, n = clean, 2
    while name in used:
        name, n = f"{clean[:26]} {n}", n + 1
    used.add(name)
    return name


def export_xlsx(*, payload: dict, tables: list[Table]) -> bytes:
    """An XLSX workbook: a cover sheet, then one sheet per table with typed cells (numbers, percentages)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    cover = book.active
    cover.title = _sheet_title(_("Dashboard"), set())
    used = {cover.title}
    for row in _heading(payload):
        cover.append(row)
    cover["A1"].font = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table.title, used))
        sheet.append([heading for heading, _kind in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            values = []
            for (_h, kind), value in zip(table.columns, row, strict=True):
                if kind == YES_NO and value is not None:
                    value = cell_text(kind, value)
                elif kind == MOMENT and isinstance(value, datetime):
                    value = timezone.localtime(value).replace(tzinfo=None)
                elif value is not None and not isinstance(value, int | float):
                    value = str(value)
                values.append(value)
            sheet.append(values)
            for (_h, kind), cell in zip(table.columns, sheet[sheet.max_row], strict=True):
                if kind == SHARE:
                    cell.number_format = "0.0%"
                elif kind == MINUTES:
                    cell.number_format = "0.0"
                elif kind == MOMENT:
                    cell.number_format = "yyyy-mm-dd hh:mm"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
