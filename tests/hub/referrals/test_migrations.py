"""The referral workflow's own write-back endpoints move into the federation's site configuration."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("referrals", "0002_referral_person_uid"), ("federation", "0004_site_clients")]
AFTER = [("referrals", "0003_site_endpoints_to_federation")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_move():
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_endpoints_are_copied_where_the_federation_has_none_and_the_federations_win(before_the_move):
    apps = before_the_move
    Site = apps.get_model("federation", "Site")
    SiteEndpoint = apps.get_model("referrals", "SiteEndpoint")
    SiteSync = apps.get_model("federation", "SiteSync")
    alliance = Site.objects.create(code="alliance", name="医联体", kind="alliance")
    county_a = Site.objects.create(code="county-a", name="东川县人民医院", kind="county", parent=alliance)
    county_b = Site.objects.create(code="county-b", name="西河县人民医院", kind="county", parent=alliance)
    county_c = Site.objects.create(code="county-c", name="南山县人民医院", kind="county", parent=alliance)
    SiteEndpoint.objects.create(site=county_a, fhir_base_url="https://his.county-a.example/fhir")
    SiteEndpoint.objects.create(site=county_b, fhir_base_url="https://old.county-b.example/fhir")
    SiteEndpoint.objects.create(site=county_c, fhir_base_url="https://his.county-c.example/fhir", enabled=False)
    SiteSync.objects.create(site=county_b, base_url="https://fhir.county-b.example/r4", bearer_token="b-token")

    apps = migrate(AFTER)

    syncs = {s.site.code: s for s in apps.get_model("federation", "SiteSync").objects.select_related("site")}
    assert {code: (s.base_url, s.enabled) for code, s in syncs.items()} == {
        "county-a": ("https://his.county-a.example/fhir", True),
        "county-b": ("https://fhir.county-b.example/r4", True),
        "county-c": ("https://his.county-c.example/fhir", False),
    }
    assert syncs["county-b"].bearer_token == "b-token"
    assert "referrals_siteendpoint" not in connection.introspection.table_names()


def test_going_back_every_federation_endpoint_is_a_write_back_endpoint_again(before_the_move):
    apps = before_the_move
    Site = apps.get_model("federation", "Site")
    alliance = Site.objects.create(code="alliance", name="医联体", kind="alliance")
    county_a = Site.objects.create(code="county-a", name="东川县人民医院", kind="county", parent=alliance)
    apps.get_model("referrals", "SiteEndpoint").objects.create(site=county_a, fhir_base_url="https://a.example/fhir")
    migrate(AFTER)

    apps = migrate(BEFORE)

    endpoints = apps.get_model("referrals", "SiteEndpoint").objects.values_list("site__code", "fhir_base_url")
    assert list(endpoints) == [("county-a", "https://a.example/fhir")]
