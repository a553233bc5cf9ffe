"""Leaving a room locks only the connection's row: a chat message's commit holds a KEY SHARE lock on its author's
row while its transaction holds the room's row, so a leave that also locked the user's row deadlocked with it
(found by bench/rooms.py at 50 rooms of 10: ``deadlock detected ... while locking tuple in accounts_user``)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from hub.consultations import services

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
