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
