import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from federation.sites.constants import SiteKind
from hub.accounts.constants import Role
from hub.accounts.services import api_token_create, user_create


def test_a_county_doctor_belongs_to_a_county_hospital(county_a, general_hospital):
    user = user_create(username="d1", password="x-long-pass", role=Role.COUNTY_DOCTOR, site=county_a)
    assert user.site == county_a
    with pytest.raises(ValidationError, match="cannot belong"):
        user_create(username="d2", password="x-long-pass", role=Role.COUNTY_DOCTOR, site=general_hospital)


def test_a_specialist_works_in_a_department_of_the_general_hospital(general_hospital, cardiology, county_a):
    user_create(username="s1", password="x", role=Role.SPECIALIST, site=general_hospital, department=cardiology)
    with pytest.raises(ValidationError, match="department"):
        user_create(username="s2", password="x", role=Role.SPECIALIST, site=general_hospital)
    with pytest.raises(ValidationError, match="cannot belong"):
        user_create(username="s3", password="x", role=Role.SPECIALIST, site=county_a, department=cardiology)


def test_a_department_of_another_site_is_refused(county_a, general_hospital, cardiology):
    with pytest.raises(ValidationError, match="another site"):
        user_create(username="d3", password="x", role=Role.COUNTY_DOCTOR, site=county_a, department=cardiology)


def test_an_official_belongs_to_the_alliance(alliance, county_a):
    user_create(username="o1", password="x", role=Role.OFFICIAL, site=alliance)
    with pytest.raises(ValidationError):
        user_create(username="o2", password="x", role=Role.OFFICIAL, site=county_a)


def test_a_site_admin_may_belong_to_any_site_and_is_staff(alliance, county_a, general_hospital):
    for n, site in enumerate([alliance, county_a, general_hospital]):
        assert user_create(username=f"a{n}", password="x", role=Role.SITE_ADMIN, site=site).is_staff


def test_a_role_needs_a_site(db):
    with pytest.raises(ValidationError, match="belong to a site"):
        user_create(username="nobody", password="x", role=Role.OFFICIAL, site=None)


def test_a_hospital_must_be_part_of_the_alliance(alliance, db):
    from federation.sites.models import Site

    orphan = Site(code="orphan", name="孤立医院", kind=SiteKind.COUNTY)
    with pytest.raises(ValidationError, match="part of an alliance"):
        orphan.full_clean()


def test_api_token_command_prints_a_token_that_authenticates(dr_li_at_county_a, client, capsys):
    call_command("api_token", "dr_li")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("ahub_")
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["username"] == "dr_li"
    assert response.json()["site"] == "county-a"
    assert response.json()["role"] == Role.COUNTY_DOCTOR


def test_api_token_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named"):
        call_command("api_token", "ghost")


def test_only_a_digest_of_the_token_is_stored(dr_li_at_county_a):
    token, raw = api_token_create(user=dr_li_at_county_a)
    assert raw not in (token.digest, token.prefix)
    assert len(token.digest) == 64


def test_a_wrong_or_revoked_token_is_401_with_json(dr_li_at_county_a, client):
    token, raw = api_token_create(user=dr_li_at_county_a)
    assert client.get("/api/me", HTTP_AUTHORIZATION="Bearer ahub_wrong").status_code == 401
    token.revoked = True
    token.save()
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_an_inactive_users_token_stops_working(dr_li_at_county_a, client, token_for):
    headers = token_for(dr_li_at_county_a)
    assert client.get("/api/me", **headers).status_code == 200
    dr_li_at_county_a.is_active = False
    dr_li_at_county_a.save()
    assert client.get("/api/me", **headers).status_code == 401


def test_a_token_changed_behind_the_hubs_back_is_rechecked_within_seconds(dr_li_at_county_a, client, monkeypatch):
    from hub.accounts import services

    token, raw = api_token_create(user=dr_li_at_county_a)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/me", **headers).status_code == 200
    services.ApiToken.objects.filter(pk=token.pk).update(revoked=True)  # no signal: another process did it
    monkeypatch.setattr(services, "TOKEN_CACHE_SECONDS", 0.0)
    assert client.get("/api/me", **headers).status_code == 401


def test_apis_need_authentication(client, db):
    response = client.get("/api/me")
    assert response.status_code in (401, 403)
    assert response.json()["error"] == "not_authenticated"


def test_unknown_api_paths_answer_json_404(client, db):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
