"""The OAuth application registration pages (site systems' clients) are the hub administrators' alone."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/o/applications/", "/o/applications/register/", "/o/authorized_tokens/"])
def test_nobody_but_a_hub_admin_reaches_the_registration_pages(
    path, dr_li_at_county_a, admin_of_county_a, official_wang, django_user_model
):
    for user in (dr_li_at_county_a, admin_of_county_a, official_wang):
        client = Client()
        client.force_login(user)
        assert client.get(path).status_code == 404, user
    assert Client().get(path).status_code in (302, 404)  # anonymous: sign in first, or nothing there
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests")
    client = Client()
    client.force_login(root)
    assert client.get(path).status_code == 200


@pytest.mark.django_db
def test_a_hub_admin_registers_a_client_and_its_tokens_are_stored_hashed(django_user_model, county_a):
    from oauth2_provider.models import AccessToken, Application

    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests")
    client = Client()
    client.force_login(root)
    form = client.get("/o/applications/register/").content.decode()
    assert "client_secret" in form
    created = client.post(
        "/o/applications/register/",
        {
            "name": "county-a-his",
            "client_id": "county-a-his",
            "client_secret": "s3cret-for-tests-0123456789",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            "redirect_uris": "",
            "post_logout_redirect_uris": "",
            "allowed_origins": "",
            "algorithm": "",
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    application = Application.objects.get(client_id="county-a-his")
    assert application.client_secret != "s3cret-for-tests-0123456789"  # hashed
    token = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": "county-a-his",
            "client_secret": "s3cret-for-tests-0123456789",
        },
    )
    assert token.status_code == 200, token.content
    raw = token.json()["access_token"]
    stored = AccessToken.objects.get(application=application)
    assert raw not in (stored.token, getattr(stored, "token_checksum", None))


@pytest.mark.django_db
def test_api_tokens_are_stored_as_digests(dr_li_at_county_a, token_for):
    from hub.accounts.models import ApiToken

    headers = token_for(dr_li_at_county_a)
    raw = headers["HTTP_AUTHORIZATION"].split()[1]
    stored = ApiToken.objects.get(user=dr_li_at_county_a)
    assert raw not in (stored.digest, stored.prefix) and len(stored.digest) == 64
    assert Client().get("/api/referrals/", **headers).status_code == 200
