"""Dead letters for site administrators, over HTTP: county A's administrator sees and re-sends county A's, nobody
else's; clinicians see none; the page works for them too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from federation.outbox.models import OutboxMessage
from federation.outbox.services import outbox_enqueue
from tests.federation.outbox.receiver import KIND, Receiver, register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    register()
    server = Receiver()
    yield server
    server.close()


def dead_letter(receiver, site_code: str) -> OutboxMessage:
    receiver.status = 400  # refused: a dead letter at once
    with transaction.atomic():
        message = outbox_enqueue(
            kind=KIND, destination=f"hook:{site_code}", payload={"url": receiver.url}, site_code=site_code
        )
    message.refresh_from_db()
    assert message.state == "dead"
    return message


@pytest.fixture
def admin_of_county_b(county_b):
    from tests.factories import UserFactory

    return UserFactory(username="admin_b", role="site_admin", site=county_b, is_staff=True)


def test_a_site_admin_sees_and_resends_their_sites_dead_letters_only(
    receiver, token_for, admin_of_county_a, admin_of_county_b
):
    ours, theirs = dead_letter(receiver, "county-a"), dead_letter(receiver, "county-b")
    admin_a = Client(**token_for(admin_of_county_a))

    listing = admin_a.get("/api/outbox/deliveries/").json()
    assert [d["id"] for d in listing["results"]] == [ours.pk]
    assert listing["results"][0]["dead_reason"] == "refused: HTTP 400: refused"
    assert admin_a.post(f"/api/outbox/deliveries/{theirs.pk}/resend").status_code == 404  # existence not leaked

    receiver.status = 200
    resent = admin_a.post(f"/api/outbox/deliveries/{ours.pk}/resend")
    assert resent.status_code == 200 and resent.json()["state"] == "pending"
    ours.refresh_from_db()
    assert (ours.state, ours.attempts) == ("delivered", 2)
    assert admin_a.post(f"/api/outbox/deliveries/{ours.pk}/resend").status_code == 404  # delivered: no longer dead
    assert [d["id"] for d in admin_a.get("/api/outbox/deliveries/", {"state": "delivered"}).json()["results"]] == [
        ours.pk
    ]


def test_clinicians_and_anonymous_callers_get_nothing(receiver, token_for, cardiologist_zhang, dr_li_at_county_a):
    letter = dead_letter(receiver, "county-a")
    for user in (cardiologist_zhang, dr_li_at_county_a):
        caller = Client(**token_for(user))
        assert caller.get("/api/outbox/deliveries/").status_code == 403
        assert caller.post(f"/api/outbox/deliveries/{letter.pk}/resend").status_code == 403
    assert Client().get("/api/outbox/deliveries/").status_code == 401
    letter.refresh_from_db()
    assert letter.state == "dead"


def test_the_dead_letter_page_lists_and_resends(receiver, client, admin_of_county_a, cardiologist_zhang):
    letter = dead_letter(receiver, "county-a")
    OutboxMessage.objects.filter(pk=letter.pk).update(dead_at=timezone.now() - timedelta(minutes=5))
    client.force_login(admin_of_county_a)
    page = client.get("/outbox/")
    assert page.status_code == 200 and "refused: HTTP 400: refused" in page.content.decode()

    receiver.status = 200
    assert client.post(f"/outbox/{letter.pk}/resend").status_code == 302
    letter.refresh_from_db()
    assert letter.state == "delivered"

    client.force_login(cardiologist_zhang)
    assert client.get("/outbox/").status_code == 403
