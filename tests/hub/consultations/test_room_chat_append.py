"""A chat message is one statement (``services.log._chat_append``): admission, the open room, the resend check,
the sequence number and the insert. What the one statement must still get right: a resend answers with the
stored entry and leaves no hole in the sequence, two copies racing each other store one, a refusal stores
nothing, and inside a caller's transaction a resend does not end it and nothing is published before its commit."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection, transaction

from hub.api_errors import ConflictError, NotFoundError
from hub.consultations import services
from hub.consultations.models import Room, RoomEvent


def _seqs(room) -> list[tuple[int, str, str]]:
    return list(RoomEvent.objects.filter(room=room).order_by("seq").values_list("seq", "kind", "client_id"))


@pytest.mark.django_db
def test_a_resend_answers_with_the_stored_entry_and_leaves_no_hole(room, dr_li_at_county_a):
    first = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text=" 胸痛加重 ", client_id="m1")
    again = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="胸痛加重", client_id="m1")
    after = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="血压 90/60", client_id="m2")
    assert (first.duplicate, again.duplicate, after.duplicate) == (False, True, False)
    assert again.pk == first.pk and again.seq == first.seq
    assert after.seq == first.seq + 1
    stored = RoomEvent.objects.get(pk=first.pk)
    assert (stored.kind, stored.actor_id, stored.data, stored.fhir_ref) == (
        "chat",
        dr_li_at_county_a.pk,
        {"text": "胸痛加重"},
        "",
    )
    assert Room.objects.get(pk=room.pk).last_seq == after.seq


@pytest.mark.django_db
def test_refusals_store_nothing_and_say_the_same_for_missing_and_not_admitted(
    room, dr_li_at_county_a, cardiologist_zhang, radiologist_zhao
):
    before = (_seqs(room), Room.objects.get(pk=room.pk).last_seq)
    for room_id, actor in ((room.pk, radiologist_zhao), (room.pk + 1000, dr_li_at_county_a)):
        with pytest.raises(NotFoundError) as refused:
            services.message_post(room_id=room_id, actor=actor, text="x", client_id="x1")
        assert refused.value.code == "not_found"
    services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    services.participant_remove(room_id=room.pk, actor=cardiologist_zhang, user=radiologist_zhao)
    invited_and_removed = (_seqs(room), Room.objects.get(pk=room.pk).last_seq)
    with pytest.raises(NotFoundError):
        services.message_post(room_id=room.pk, actor=radiologist_zhao, text="x", client_id="x2")
    assert (_seqs(room), Room.objects.get(pk=room.pk).last_seq) == invited_and_removed
    assert not RoomEvent.objects.filter(room=room, client_id__in=["x1", "x2"]).exists()
    assert before[1] < invited_and_removed[1]  # the invitation and the removal are in the log; no chat is
    services.room_end(room_id=room.pk, actor=cardiologist_zhang)
    ended = Room.objects.get(pk=room.pk).last_seq
    with pytest.raises(ConflictError) as refused:
        services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="还在吗", client_id="x3")
    assert refused.value.code == "room_ended"
    assert Room.objects.get(pk=room.pk).last_seq == ended
    assert not RoomEvent.objects.filter(client_id="x3").exists()


@pytest.mark.django_db
def test_inside_a_callers_transaction_a_resend_keeps_it_and_the_publish_waits_for_its_commit(
    room, dr_li_at_county_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        first = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="第一条", client_id="t1")
        again = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="第一条", client_id="t1")
        second = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="第二条", client_id="t2")
        assert RoomEvent.objects.filter(room=room, kind="chat").count() == 2  # the transaction is still usable
    assert again.duplicate and again.seq == first.seq and second.seq == first.seq + 1
    assert len(callbacks) == 4  # a publish and a Communication flush for each new entry, none for the resend


@pytest.mark.django_db(transaction=True)
def test_two_copies_racing_each_other_store_one_and_both_answer_with_it(room, dr_li_at_county_a):
    """A phone resends after a reconnect while its first copy is still in flight: both wait on the room's row,
    the second then fails on the unique constraint and answers with the first's entry."""
    answers, errors = [], []

    def post():
        try:
            answers.append(
                services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="抢先", client_id="race-1")
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT 1 FROM consultations_room WHERE id = %s FOR UPDATE", [room.pk])
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        threading.Event().wait(0.5)  # both wait for the room's row
        other.commit()
        for thread in threads:
            thread.join(10)
    assert not errors, errors
    assert sorted(a.duplicate for a in answers) == [False, True]
    assert answers[0].seq == answers[1].seq
    assert RoomEvent.objects.filter(room=room, client_id="race-1").count() == 1
    after = services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="下一条", client_id="race-2")
    assert after.seq == answers[0].seq + 1, "the losing copy left a hole in the sequence"


@pytest.mark.django_db
def test_the_chat_statement_is_planned_once_per_connection(room, dr_li_at_county_a):
    """Planning the statement cost PostgreSQL about twice what running it did: it is prepared on the server."""
    for n in range(3):
        services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text=f"第{n}条", client_id=f"p{n}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%SET last_seq = r.last_seq%%'"
        )
        assert cursor.fetchone()[0] == 1
