"""The consultation rooms' media services pass the deployment check once merged into the compose stack."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "deploy" / "check.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def merged(base: dict, override: dict) -> dict:
    """``docker compose -f base -f override``'s merge, for what the override uses (maps merge, lists add)."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        elif isinstance(value, list) and isinstance(result.get(key), list) and key != "command":
            result[key] = result[key] + [item for item in value if item not in result[key]]
        else:
            result[key] = value
    return result


def test_coturn_and_livekit_added_to_the_stack_pass_the_check(tmp_path):
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    base = yaml.safe_load((deploy / "compose.yml").read_text())
    rooms = yaml.safe_load((deploy / "rooms.compose.yml").read_text())
    (deploy / "compose.yml").write_text(yaml.safe_dump(merged(base, rooms)))

    assert check.compose_problems(deploy / "compose.yml") == []


def test_turn_is_offered_over_tls_and_tcp_on_443():
    rooms = yaml.safe_load((ROOT / "deploy" / "rooms.compose.yml").read_text())
    urls = rooms["services"]["web"]["environment"]["HUB_TURN_URLS"].split(",")
    assert "turns:turn.alliance.example:443?transport=tcp" in urls
    assert "turn:turn.alliance.example:443?transport=tcp" in urls
    conf = (ROOT / "deploy" / "coturn" / "turnserver.conf").read_text().splitlines()
    assert "tls-listening-port=443" in conf and "use-auth-secret" in conf
    livekit = yaml.safe_load((ROOT / "deploy" / "livekit" / "livekit.yaml").read_text())
    assert livekit["rtc"]["tcp_port"] and livekit["room"]["max_participants"] > 4


def test_janus_in_place_of_livekit_passes_the_check_and_names_one_sfu(tmp_path):
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    base = yaml.safe_load((deploy / "compose.yml").read_text())
    rooms = yaml.safe_load((deploy / "rooms.compose.yml").read_text())
    janus = yaml.safe_load((deploy / "janus.compose.yml").read_text())
    stack = merged(merged(base, rooms), janus)
    (deploy / "compose.yml").write_text(yaml.safe_dump(stack))

    assert check.compose_problems(deploy / "compose.yml") == []
    web = stack["services"]["web"]["environment"]
    assert web["HUB_LIVEKIT_URL"] == "" and web["HUB_JANUS_URL"].startswith("wss://")
    assert stack["services"]["livekit"]["profiles"] == ["livekit"]  # not started with Janus
    made = (ROOT / "deploy" / "secrets" / "init.sh").read_text()
    assert "janus_token_secret" in made and "janus_admin_key" in made
    # The configuration the tests' own Janus runs with (tests/conftest.py janus_server) is this one.
    conf = (ROOT / "deploy" / "janus" / "janus.jcfg").read_text()
    assert "token_auth = true" in conf and '"@HUB_JANUS_TOKEN_SECRET@"' in conf
    videoroom = (ROOT / "deploy" / "janus" / "janus.plugin.videoroom.jcfg").read_text()
    assert 'admin_key = "@HUB_JANUS_ADMIN_KEY@"' in videoroom
