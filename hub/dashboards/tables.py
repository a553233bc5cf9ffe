"""The dashboard's payload as tables: the page shows them and the CSV and XLSX exports write them, so the
three always carry the same numbers under the same (translated) headings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

# Kinds of cells: how a value is shown (the value itself is the same everywhere).
COUNT, MINUTES, SHARE, TEXT, YES_NO, MOMENT = "count", "minutes", "share", "text", "yes_no", "moment"


@dataclass
class Table:
    key: str
    title: str
    columns: list[tuple[str, str]]  # (heading, kind of cell)
    rows: list[list] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # the page's drill-down link of each row, if any

    def cells(self) -> list[tuple[list[tuple[str, str, object, str]], str]]:
        """For the page: each row's (heading, kind, value, text) cells, with the row's link."""
        return [
            (
                [(h, kind, v, cell_text(kind, v)) for (h, kind), v in zip(self.columns, row, strict=True)],
                self.links[n] if n < len(self.links) else "",
            )
            for n, row in enumerate(self.rows)
        ]


def cell_text(kind: str, value) -> str:
    """A value as the page and the CSV write it ("" for none; the page shows a dash)."""
    if value is None or value == "":
        return ""
    if kind == SHARE:
        return f"{value * 100:.1f}%"
    if kind == MINUTES:
        return f"{value:.1f}"
    if kind == YES_NO:
        return _("Yes") if value else _("No")
    if kind == MOMENT and isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _side_columns() -> list[tuple[str, str]]:
    return [
        (_("Requests"), COUNT),
        (_("Up-referrals"), COUNT),
        (_("Down-referrals"), COUNT),
        (_("Remote consultations"), COUNT),
        (_("Remote diagnoses"), COUNT),
        (_("Emergencies"), COUNT),
        (_("Completed"), COUNT),
        (_("Requests past the response target"), COUNT),
        (_("Time to accept, median (min)"), MINUTES),
        (_("Time to accept, P90 (min)"), MINUTES),
        (_("Time to opinion, median (min)"), MINUTES),
    ]


def _side_row(stats: dict) -> list:
    keys = ("requests", "up", "down", "consultations", "diagnoses", "emergency", "completed", "breached_requests")
    return [stats[k] for k in keys] + [stats["accept_median"], stats["accept_p90"], stats["opinion_median"]]


def dashboard_tables(payload: dict) -> list[Table]:
    summary = payload["summary"]
    tables = [
        Table(
            "summary",
            _("Summary"),
            [(_("Indicator"), TEXT), (_("Value"), COUNT)],
            [
                [_("Requests"), summary["requests"]],
                [_("Up-referrals"), summary["up"]],
                [_("Down-referrals"), summary["down"]],
                [_("Up minus down (balance)"), summary["balance"]],
                [_("Remote consultations"), summary["consultations"]],
                [_("Remote diagnoses"), summary["diagnoses"]],
                [_("Completed"), summary["completed"]],
                [_("Requests past the response target"), summary["breached_requests"]],
                [_("SLA breaches (escalations)"), summary["sla_breaches"]],
            ],
        ),
        Table(
            "volumes",
            _("Volumes"),
            [(_("Breakdown"), TEXT), (_("Item"), TEXT), (_("Requests"), COUNT)],
            [
                [title, item["label"], item["count"]]
                for title, key in (
                    (_("By kind"), "by_kind"),
                    (_("By urgency"), "by_urgency"),
                    (_("By pathway"), "by_pathway"),
                    (_("By state"), "by_status"),
                )
                for item in payload[key]
            ],
        ),
        Table(
            "response",
            _("Response times against targets"),
            [
                (_("Urgency"), TEXT),
                (_("Requests"), COUNT),
                (_("Accept target (min)"), COUNT),
                (_("Accepted"), COUNT),
                (_("Time to accept, median (min)"), MINUTES),
                (_("Time to accept, P90 (min)"), MINUTES),
                (_("Accepted within target"), SHARE),
                (_("Opinion target (min)"), COUNT),
                (_("Answered"), COUNT),
                (_("Time to opinion, median (min)"), MINUTES),
                (_("Time to opinion, P90 (min)"), MINUTES),
                (_("Answered within target"), SHARE),
            ],
            [
                [
                    r["label"],
                    r["requests"],
                    r["accept_target_minutes"],
                    r["accepted"],
                    r["accept_median"],
                    r["accept_p90"],
                    r["accept_met_share"],
                    r["opinion_target_minutes"],
                    r["answered"],
                    r["opinion_median"],
                    r["opinion_p90"],
                    r["opinion_met_share"],
                ]
                for r in payload["response"]
            ],
        ),
        Table(
            "pathways",
            _("Time-critical pathways"),
            [
                (_("Pathway"), TEXT),
                (_("Indicator"), TEXT),
                (_("Target (min)"), COUNT),
                (_("Measured"), COUNT),
                (_("Median (min)"), MINUTES),
                (_("P90 (min)"), MINUTES),
                (_("Meeting the target"), COUNT),
                (_("Share meeting the target"), SHARE),
                (_("Required share"), SHARE),
                (_("Standard met"), YES_NO),
            ],
            [
                [
                    p["label"],
                    i["label"],
                    i["target_minutes"],
                    i["measured"],
                    i["median"],
                    i["p90"],
                    i["met"],
                    i["met_share"],
                    i["required_share"],
                    i["passes"],
                ]
                for p in payload["pathways"]
                for i in p["intervals"]
            ],
        ),
        Table(
            "rates",
            _("Chest Pain Center rates"),
            [
                (_("Indicator"), TEXT),
                (_("Patients counted"), COUNT),
                (_("Patients meeting it"), COUNT),
                (_("Share"), SHARE),
                (_("Required share"), SHARE),
                (_("Standard met"), YES_NO),
            ],
            [
                [r["label"], r["denominator"], r["numerator"], r["share"], r["required_share"], r["passes"]]
                for p in payload["pathways"]
                for r in p["rates"]
            ],
        ),
        Table(
            "trend",
            _("Trend"),
            [
                (_("Period"), TEXT),
                (_("Requests"), COUNT),
                (_("Up-referrals"), COUNT),
                (_("Down-referrals"), COUNT),
                (_("Consultations and diagnoses"), COUNT),
                (_("Requests past the response target"), COUNT),
                (_("Time to accept, median (min)"), MINUTES),
            ],
            [
                [
                    t["bucket"],
                    t["requests"],
                    t["up"],
                    t["down"],
                    t["consultations"],
                    t["breached_requests"],
                    t["accept_median"],
                ]
                for t in payload["trend"]
            ],
        ),
    ]
    for key, places, heading in (("sites", payload["sites"], _("Site")), ("departments", payload["departments"], None)):
        if not places:
            continue
        heading = heading or _("Department")
        for side, title in (
            ("requesting", _("Requesting side")),
            ("receiving", _("Receiving side")),
        ):
            tables.append(
                Table(
                    f"{key}_{side}",
                    f"{_('By site') if key == 'sites' else _('By department')}: {title}",
                    [(heading, TEXT), *_side_columns()],
                    [[place["name"], *_side_row(place[side])] for place in places],
                )
            )
    tables.append(
        Table(
            "feed_health",
            _("Data feed health"),
            [
                (_("Site"), TEXT),
                (_("State"), TEXT),
                (_("Last successful sync"), MOMENT),
                (_("Sync lag (min)"), MINUTES),
                (_("Failures in a row"), COUNT),
                (_("Sync runs"), COUNT),
                (_("Failed runs"), COUNT),
                (_("Errors"), COUNT),
                (_("Records refused"), COUNT),
            ],
            [
                [
                    f["name"],
                    f["state_label"],
                    f["last_success_at"],
                    f["lag_minutes"],
                    f["consecutive_failures"],
                    f["runs"],
                    f["failed_runs"],
                    f["recent_errors"],
                    f["dead_letters"],
                ]
                for f in payload["feed_health"]
            ],
        )
    )
    return tables
