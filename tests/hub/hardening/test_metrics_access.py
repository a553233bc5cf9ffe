"""``/metrics`` answers scrapers only: the ``HUB_METRICS_TOKEN`` bearer token, or without one this host."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_without_a_token_only_this_host_reads_the_metrics(dr_li_at_county_a, token_for):
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 404
    assert Client().get("/metrics", REMOTE_ADDR="10.0.0.7", **token_for(dr_li_at_county_a)).status_code == 404


@pytest.mark.django_db
def test_with_a_token_only_its_bearer_reads_them(settings):
    settings.HUB_METRICS_TOKEN = "scrape-token-for-tests"
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    wrong = Client().get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 404
    right = Client().get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer scrape-token-for-tests")
    assert right.status_code == 200 and b"# HELP" in right.content
