"""The Grafana dashboard in deploy/ charts only metrics the hub serves at /metrics, with their labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "alliance-hub.json"
PROMQL_WORDS = {"sum", "by", "rate", "histogram_quantile", "le", "without", "avg", "max", "min", "count"}

pytestmark = pytest.mark.django_db


def _queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _served(client) -> dict[str, set[str]]:
    """Every sample name the hub can serve, with the labels its family carries (from its samples)."""
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    served: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("_sum", "_count", "_created"),
        }.get(family.type, ("",))
        labels = {label for sample in family.samples for label in sample.labels}
        for suffix in suffixes:
            served.setdefault(family.name + suffix, set()).update(labels)
    return served


def test_every_panel_charts_a_metric_the_hub_serves(client):
    # one request first, so that the per-request families carry samples (and so their labels)
    client.get("/healthz")
    served = _served(client)
    assert _queries(), "the dashboard has no queries"
    for title, expr in _queries():
        names = set(re.findall(r"\bhub_[a-z0-9_]+", expr))
        assert names, (title, expr)
        for name in names:
            assert name in served, f"panel {title!r} charts {name}, which /metrics does not serve"
        for group in re.findall(r"by \(([^)]*)\)", expr):
            for label in (word.strip() for word in group.split(",")):
                if label == "le":
                    continue
                owners = [served[name] for name in names if served[name]]
                assert not owners or any(label in labels for labels in owners), (
                    f"panel {title!r} groups by {label!r}, a label none of {sorted(names)} carries"
                )
