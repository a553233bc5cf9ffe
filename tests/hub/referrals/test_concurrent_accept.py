"""Two specialists accept the same request at the same moment: exactly one wins, the other is told."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from hub.accounts.constants import Role
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_two_simultaneous_accepts_wins(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, general_hospital, cardiology
):
    liu = UserFactory(username="cardiologist_liu", role=Role.SPECIALIST, site=general_hospital, department=cardiology)
    body = {**chest_pain_request, "urgency": "routine", "pathway": "other", "target_specialty": "cardiology"}
    rid = api_for(dr_li_at_county_a).post("", body).json()["id"]
    clients = [api_for(cardiologist_zhang), api_for(liu)]
    barrier = threading.Barrier(2)
    results: list[tuple[str, int, dict]] = []

    def accept(client, name):
        try:
            barrier.wait()
            response = client.post(f"{rid}/accept")
            results.append((name, response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(c, n)) for c, n in zip(clients, ["zhang", "liu"], strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(status for _name, status, _body in results)
    assert statuses == [200, 409]
    winner = next(name for name, status, _ in results if status == 200)
    loser_body = next(body for _, status, body in results if status == 409)
    assert loser_body["error"] == "already_accepted"
    # The loser is told who won (the row read after its lock was taken, never "None has already accepted").
    assert loser_body["detail"].startswith(liu.display_name if winner == "liu" else cardiologist_zhang.display_name)
    assert "None" not in loser_body["detail"]
    detail = api_for(dr_li_at_county_a).get(f"{rid}").json()
    assert detail["owner"]["username"] == f"cardiologist_{winner}"
    assert [t["action"] for t in detail["transitions"]].count("accept") == 1
