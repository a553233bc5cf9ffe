"""Leaving a room locks only the connection's row: a chat message's commit holds a KEY SHARE lock on its author's
row while its transaction holds the room's row, so a leave that also locked the user's row deadlocked with it
(found by bench/rooms.py at 50 rooms of 10: ``deadlock detected ... while locking tuple in accounts_user``)."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection

from hub.consultations import services
from hub.consultations.models import RoomConnection

pytestmark = pytest.mark.django_db(transaction=True)  # another session holds a lock the service must not need


def test_leaving_does_not_lock_the_users_row(room, cardiologist_zhang):
    joined = services.connection_join(
        room_id=room.pk, user=cardiologist_zhang, session="zhang-phone-session", channel_name="c1", device="phone"
    )
    with psycopg.connect(**connection.get_connection_params()) as other:
        # What a chat message's foreign key check holds on its author until it commits.
        other.execute("SELECT 1 FROM accounts_user WHERE id = %s FOR KEY SHARE", [cardiologist_zhang.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a conflicting lock fails the leave instead of hanging
        try:
            assert services.connection_leave(connection_uid=joined.connection.uid) is True
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
        other.rollback()


def test_a_late_drop_of_the_old_socket_does_not_mark_the_tab_that_came_back(room, cardiologist_zhang):
    """A phone's tab reconnects: its new socket's join and its old socket's drop run at the same time. The drop must
    not overwrite the join (it once read the row, waited for the join's lock, then saved "dropped" over the new
    socket's connection: 31 s later the sweep removed it and the live socket was closed with 4404)."""
    joined = services.connection_join(
        room_id=room.pk, user=cardiologist_zhang, session="zhang-phone-session", channel_name="old", device="phone"
    )
    uid = joined.connection.uid
    with psycopg.connect(**connection.get_connection_params()) as other:
        # The new socket's join, not yet committed: it holds the connection's row.
        other.execute(
            "UPDATE consultations_roomconnection SET channel_name = 'new', dropped_at = NULL WHERE uid = %s", [uid]
        )
        commit = threading.Timer(0.5, other.commit)  # while the drop waits for the row
        commit.start()
        services.connection_drop(connection_uid=uid, channel_name="old")
        commit.join()
    row = RoomConnection.objects.get(uid=uid)
    assert row.channel_name == "new"
    assert row.dropped_at is None, "the tab that came back is marked dropped"


def test_inviting_takes_the_requests_lock_before_the_rooms(room, cardiologist_zhang, radiologist_zhao):
    """A decision on the chest-pain pathway holds the request (its time node) and then appends to the room; an
    invitation that held the room while waiting for the request deadlocked with it (found by
    test_room_frames.py, which sends both at once)."""
    waiting = {}

    def invite():
        try:
            services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
            waiting["done"] = True
        finally:
            connection.close()

    with psycopg.connect(**connection.get_connection_params()) as decision:
        decision.execute("SELECT 1 FROM referrals_referral WHERE id = %s FOR UPDATE", [room.referral_id])
        thread = threading.Thread(target=invite)
        thread.start()
        threading.Event().wait(0.5)  # the invitation waits for the request
        with psycopg.connect(**connection.get_connection_params()) as probe:
            try:
                probe.execute("SELECT 1 FROM consultations_room WHERE id = %s FOR UPDATE NOWAIT", [room.pk])
                room_free = True
            except psycopg.errors.LockNotAvailable:
                room_free = False
        decision.commit()
        thread.join(10)
    assert room_free, "the invitation holds the room while it waits for the request"
    assert waiting.get("done")


def test_presenting_commits_while_a_decision_holds_the_request(room, dr_li_at_county_a, ecg):
    """Presenting writes the room's row twice (its log's counter, then what is shown), so PostgreSQL checks the
    row's reference to the request again at commit (a KEY SHARE lock on the request). A decision holds the
    request, then appends to the room's log: with the request locked FOR UPDATE the two deadlocked (found by
    test_room_frames.py); the workflow's lock must leave that check alone."""
    from django.db import transaction
    from django.utils import timezone

    from hub.consultations.services.log import event_append
    from hub.referrals.services.common import referral_lock

    holding, errors = threading.Event(), []

    def decision():
        try:
            with transaction.atomic():
                referral_lock(referral_id=room.referral_id)
                holding.set()
                threading.Event().wait(0.5)  # presenting has the room's row by now, and commits
                event_append(room=room, kind="decision", actor=None, data={}, now=timezone.now())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=decision)
    thread.start()
    holding.wait(5)
    try:
        services.record_present(room_id=room.pk, actor=dr_li_at_county_a, reference=f"DiagnosticReport/{ecg['id']}")
    except Exception as exc:  # noqa: BLE001 - reported below
        errors.append(exc)
    thread.join(10)
    assert not errors, errors
