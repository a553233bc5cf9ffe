def test_the_login_page_is_served(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_the_login_page_speaks_chinese_and_english(client, db):
    chinese = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "登录" in chinese
    assert "Sign in" in english


def test_home_requires_login_then_shows_the_users_site(client, dr_li_at_county_a):
    assert client.get("/").status_code == 302
    client.post("/login/", {"username": "dr_li", "password": "pw-for-tests"})
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "东川县人民医院" in page
    assert "County doctor" in page


def test_admin_is_available_in_both_languages(client, db, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests")
    client.post("/login/", {"username": "root", "password": "pw-for-tests"})
    assert "站点" in client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Sites" in client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_openapi_schema_is_served_without_a_cdn(client, dr_li_at_county_a, token_for):
    schema = client.get("/api/schema/", **token_for(dr_li_at_county_a))
    assert schema.status_code == 200
    docs = client.get("/api/docs/", **token_for(dr_li_at_county_a)).content.decode()
    assert "cdn." not in docs and "unpkg" not in docs
