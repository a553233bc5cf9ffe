"""``/api/notifications/``: the caller's own notifications, after an id or unread only, and marking them read."""

from __future__ import annotations

import pytest
from django.test import Client

from hub.notifications.events import notify_on_commit
from hub.notifications.models import UserNotification

pytestmark = pytest.mark.django_db


def notify(*users, title="New request"):
    detail = {"referral": {"id": 3}}
    notify_on_commit(event="referral.routed", recipients=users, title=title, body="胸痛", payload=detail)


def test_a_user_lists_their_own_notifications_after_an_id_and_unread(token_for, cardiologist_zhang, neurologist_zhou):
    notify(cardiologist_zhang, neurologist_zhou, title="one")
    notify(cardiologist_zhang, title="two")
    notify(neurologist_zhou, title="not Zhang's")
    zhang = Client(**token_for(cardiologist_zhang))
    first, second = UserNotification.objects.filter(user=cardiologist_zhang).order_by("pk")

    listing = zhang.get("/api/notifications/").json()
    assert listing["count"] == 2 and [n["title"] for n in listing["results"]] == ["one", "two"]
    assert listing["results"][0]["payload"] == {"referral": {"id": 3}} and listing["results"][0]["read_at"] is None
    assert [n["id"] for n in zhang.get("/api/notifications/", {"since": first.pk}).json()["results"]] == [second.pk]

    assert zhang.post("/api/notifications/read", {"ids": [first.pk]}, content_type="application/json").json() == {
        "marked": 1
    }
    assert [n["id"] for n in zhang.get("/api/notifications/", {"unread": "true"}).json()["results"]] == [second.pk]
    assert [n["id"] for n in zhang.get("/api/notifications/", {"unread": "false"}).json()["results"]] == [first.pk]


def test_nobody_marks_or_sees_another_users_notifications(token_for, cardiologist_zhang, neurologist_zhou):
    notify(neurologist_zhou, title="Zhou's")
    theirs = UserNotification.objects.get(user=neurologist_zhou)
    zhang = Client(**token_for(cardiologist_zhang))

    assert zhang.get("/api/notifications/").json()["count"] == 0
    marked = zhang.post("/api/notifications/read", {"up_to": theirs.pk}, content_type="application/json").json()
    assert marked == {"marked": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_bad_input_is_a_400_and_no_credentials_a_401(token_for, cardiologist_zhang):
    zhang = Client(**token_for(cardiologist_zhang))
    for bad in ({"since": "x"}, {"since": -1}, {"unread": "maybe"}, {"limit": 0}):
        assert zhang.get("/api/notifications/", bad).status_code == 400, bad
    assert zhang.post("/api/notifications/read", {}, content_type="application/json").status_code == 400
    assert zhang.post("/api/notifications/read", {"ids": ["x"]}, content_type="application/json").status_code == 400
    assert zhang.post("/api/notifications/read", {"ids": [1]}).status_code == 415
    assert Client().get("/api/notifications/").status_code == 401


def test_the_schema_documents_the_notification_and_outbox_operations(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    for path, method in [
        ("/api/notifications/", "get"),
        ("/api/notifications/read", "post"),
        ("/api/outbox/deliveries/", "get"),
        ("/api/outbox/deliveries/{message_id}/resend", "post"),
    ]:
        codes = set(paths[path][method]["responses"])
        assert {"200", "401", "403", "405", "406"} <= codes, (path, codes)
    parameters = {p["name"] for p in paths["/api/notifications/"]["get"]["parameters"]}
    assert {"since", "unread", "limit", "offset"} <= parameters
    assert "404" in paths["/api/outbox/deliveries/{message_id}/resend"]["post"]["responses"]
