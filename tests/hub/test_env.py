import pytest

from hub.env import (
    ImproperlyConfiguredEnv,
    database_config,
    env_bool,
    env_int,
    env_list,
    env_str,
    env_url,
    redis_database,
)


def test_env_bool_reads_the_usual_spellings():
    assert env_bool("X", False, environ={"X": "yes"}) is True
    assert env_bool("X", True, environ={"X": "0"}) is False
    assert env_bool("X", True, environ={}) is True


def test_env_bool_fails_loudly_on_nonsense():
    with pytest.raises(ImproperlyConfiguredEnv, match="X must be a boolean"):
        env_bool("X", False, environ={"X": "maybe"})


def test_env_int_checks_type_and_bounds():
    assert env_int("N", 5, environ={"N": " 42 "}) == 42
    with pytest.raises(ImproperlyConfiguredEnv, match="integer"):
        env_int("N", 5, environ={"N": "4x2"})
    with pytest.raises(ImproperlyConfiguredEnv, match=">= 1"):
        env_int("N", 5, minimum=1, environ={"N": "0"})


def test_a_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    assert env_str("KEY", environ={"KEY_FILE": str(secret)}) == "s3cret"


def test_a_missing_secret_file_fails_loudly(tmp_path):
    with pytest.raises(ImproperlyConfiguredEnv, match="KEY_FILE"):
        env_str("KEY", environ={"KEY_FILE": str(tmp_path / "absent")})


def test_env_list_splits_on_commas():
    assert env_list("H", [], environ={"H": "a.example, b.example,"}) == ["a.example", "b.example"]


def test_env_url_refuses_a_wrong_scheme():
    with pytest.raises(ImproperlyConfiguredEnv, match="REDIS_URL must be a URL with scheme redis"):
        env_url("REDIS_URL", schemes=("redis",), environ={"REDIS_URL": "http://localhost:6379"})
    assert env_url("REDIS_URL", schemes=("redis",), environ={"REDIS_URL": ""}) is None


def test_database_url_becomes_a_postgresql_entry():
    config = database_config("postgresql://hub:p%40ss@db.internal:6432/alliance?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"], config["PASSWORD"]) == (
        "db.internal",
        "6432",
        "alliance",
        "hub",
        "p@ss",
    )
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_a_unix_socket_database_url_is_understood():
    config = database_config("postgresql://postgres:@/hub?host=/tmp/sock")
    assert config["HOST"] == "/tmp/sock"
    assert config["NAME"] == "hub"


@pytest.mark.parametrize("url", ["sqlite:///db.sqlite3", "mysql://root@localhost/x", "postgresql://localhost:99999/x"])
def test_non_postgresql_database_urls_are_refused(url):
    with pytest.raises(ImproperlyConfiguredEnv):
        database_config(url)


def test_a_database_url_without_a_name_is_refused():
    with pytest.raises(ImproperlyConfiguredEnv, match="names no database"):
        database_config("postgresql://localhost:5432/")


@pytest.mark.parametrize(
    "url, number",
    [
        ("redis://127.0.0.1:6379/3", 3),
        ("redis://redis:6379", 0),
        ("rediss://user:secret@redis.example:6380/12", 12),
        ("unix:///run/redis/redis.sock?db=5", 5),
    ],
)
def test_the_redis_database_number_is_read_from_the_url(url, number):
    assert redis_database(url) == number


def test_a_redis_database_that_is_not_a_number_is_refused():
    with pytest.raises(ImproperlyConfiguredEnv, match="not a number"):
        redis_database("redis://redis:6379/cache")
