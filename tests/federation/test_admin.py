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
