"""Sign-in throttling (django-axes): a username is locked after N failed passwords in a row, over HTTP."""

from __future__ import annotations

import pytest
from django.test import Client


def _sign_in(client: Client, username: str, password: str, address: str = "10.1.2.3"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_even_with_the_right_one(settings, dr_li_at_county_a):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for _attempt in range(4):
        assert _sign_in(client, "dr_li", "wrong").status_code == 200  # the form again, with its error
    locked = _sign_in(client, "dr_li", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Then the right password from another address is refused too, and no session is opened
    right = _sign_in(Client(), "dr_li", "pw-for-tests", address="10.9.9.9")
    assert right.status_code == 429
    assert "_auth_user_id" not in right.client.session


@pytest.mark.django_db
def test_a_success_before_the_limit_starts_the_count_again(settings, dr_li_at_county_a):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    assert _sign_in(client, "dr_li", "wrong").status_code == 200
    assert _sign_in(client, "dr_li", "wrong").status_code == 200
    assert _sign_in(client, "dr_li", "pw-for-tests").status_code == 302
    client.post("/logout/")
    assert _sign_in(client, "dr_li", "wrong").status_code == 200
    assert _sign_in(client, "dr_li", "wrong").status_code == 200
    assert _sign_in(client, "dr_li", "pw-for-tests").status_code == 302


@pytest.mark.django_db
def test_another_users_failures_do_not_lock_this_one(settings, dr_li_at_county_a, dr_zhao_at_county_b):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    for _attempt in range(3):
        _sign_in(client, "dr_zhao", "wrong")
    assert _sign_in(client, "dr_zhao", "pw-for-tests").status_code == 429
    assert _sign_in(client, "dr_li", "pw-for-tests").status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_is_throttled_as_well(settings, django_user_model):
    settings.AXES_FAILURE_LIMIT = 2
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests")
    client = Client()
    for _attempt in range(2):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    answer = client.post("/admin/login/", {"username": "root", "password": "pw-for-tests"})
    assert answer.status_code == 429
