"""The federation's admin pages: sync health, dead letters, clients, golden records, the review queue."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "page", ["sitesync", "syncrun", "deadletter", "siteclient", "goldenrecord", "matchreview", "linkevent"]
)
def test_the_admin_pages_render(admin_client, sync_a, page):
    response = admin_client.get(f"/admin/federation/{page}/")

    assert response.status_code == 200


def test_saving_a_site_in_the_admin_publishes_it_to_the_directory(
    admin_client, county_a, django_capture_on_commit_callbacks
):
    from fhir_gateway.models import Resource

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/federation/site/{county_a.pk}/change/",
            {
                "code": "county-a", "name": "东川县人民医院", "name_en": "Dongchuan", "kind": "county",
                "parent": county_a.parent_id, "active": "on",
                "departments-TOTAL_FORMS": "0", "departments-INITIAL_FORMS": "0",
            },
        )  # fmt: skip

    assert response.status_code == 302, response.content[:2000]
    assert Resource.objects.get(resource_type="Organization", fhir_id="site-county-a").content["alias"] == ["Dongchuan"]


def test_a_county_admin_sees_only_their_own_sites_dead_letters(client, admin_of_county_a):
    from django.contrib.auth.models import Permission

    from federation.sync.models import DeadLetter

    admin_of_county_a.user_permissions.add(Permission.objects.get(codename="view_deadletter"))
    DeadLetter.objects.create(site_code="county-a", resource_type="Observation", source_id="mine", error={})
    DeadLetter.objects.create(site_code="county-b", resource_type="Observation", source_id="theirs", error={})
    client.force_login(admin_of_county_a)

    page = client.get("/admin/federation/deadletter/").content.decode()

    assert "mine" in page and "theirs" not in page
