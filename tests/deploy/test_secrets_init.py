"""deploy/secrets/init.sh makes secrets the compose stack's containers can read as their own users, and a
Mosquitto password file that, with deploy/mosquitto.conf's ACL and TLS listener, admits the hub's user to
every site's device data (deploy/README.md, "From nothing to a TLS-served hub")."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import free_port
from tests.hub.devices.conftest import vitals

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _init(tmp_path: Path) -> Path:
    if not (shutil.which("openssl") and (shutil.which("mosquitto_passwd") or shutil.which("docker"))):
        pytest.skip("init.sh needs openssl and mosquitto_passwd (or Docker)")
    secrets = tmp_path / "deploy" / "secrets"
    secrets.mkdir(parents=True)
    shutil.copy(DEPLOY / "secrets" / "init.sh", secrets / "init.sh")
    subprocess.run(
        [shutil.which("sh") or "/bin/sh", str(secrets / "init.sh")],
        env={**os.environ, "HUB_HOST": "hub.test.example"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    return secrets


def _mounted_from_secrets() -> set[str]:
    """The files of deploy/secrets/ that compose.yml puts into containers (as secrets or bind mounts)."""
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    names = {Path(secret["file"]).name for secret in compose["secrets"].values()}
    for service in compose["services"].values():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if source.startswith("./secrets/"):
                names.add(Path(source).name)
    return names


def test_every_file_the_containers_mount_is_readable_by_their_users_and_closed_on_the_host(tmp_path):
    secrets = _init(tmp_path)
    # Compose bind-mounts a file secret with the host's owner and mode: the hub ("hub"), PostgreSQL ("postgres")
    # and Mosquitto ("mosquitto") read them as users other than the file's owner.
    for name in sorted(_mounted_from_secrets()):
        mode = (secrets / name).stat().st_mode
        assert mode & 0o004, f"{name} ({oct(mode & 0o777)}) cannot be read by the container's user"
    assert secrets.stat().st_mode & 0o777 == 0o700  # the host's other users reach none of them
    assert urlsplit((secrets / "mqtt_url").read_text()).username == "alliance-hub"


def test_the_broker_starts_with_init_shs_files_and_lets_the_hub_read_a_sites_vitals(tmp_path):
    from hub.devices.ingest.mqtt import client_for
    from hub.devices.services import mosquitto_acl_lines, mosquitto_password_line

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        pytest.skip("mosquitto is not installed")
    secrets = _init(tmp_path)
    # What the container sees through compose's bind mounts: the files with their modes, in folders it may
    # enter. Mosquitto started as root (as in the eclipse-mosquitto image) reads them as "mosquitto".
    config = Path(tempfile.mkdtemp(prefix="hub-init-mosquitto-"))
    config.chmod(0o755)
    try:
        for name in ("mosquitto_passwd", "tls.crt", "tls.key"):
            shutil.copy2(secrets / name, config / name)
        with open(config / "mosquitto_passwd", "a") as passwd:  # a site's gateway, added as the README says
            passwd.write(mosquitto_password_line(username="gw-county-a", password="pw-a") + "\n")
        (config / "acl").write_text(
            (DEPLOY / "mosquitto.acl").read_text()
            + "\n"
            + mosquitto_acl_lines(username="gw-county-a", site_code="county-a")
        )
        plain, tls = free_port(), free_port()
        conf = (DEPLOY / "mosquitto.conf").read_text()
        conf = conf.replace("/mosquitto/config/passwd", str(config / "mosquitto_passwd"))
        conf = conf.replace("/mosquitto/config/acl", str(config / "acl"))
        conf = conf.replace("/mosquitto/certs/", f"{config}/")
        conf = conf.replace("persistence true", "persistence false")
        conf = conf.replace("listener 1883", f"listener {plain} 127.0.0.1").replace(
            "listener 8883", f"listener {tls} 127.0.0.1"
        )
        (config / "mosquitto.conf").write_text(conf)
        log = open(config / "broker.log", "wb")  # noqa: SIM115 - closed below
        broker = subprocess.Popen([binary, "-c", str(config / "mosquitto.conf")], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 15
            while True:
                assert broker.poll() is None, f"mosquitto exited: {(config / 'broker.log').read_text()[-2000:]}"
                try:
                    socket.create_connection(("127.0.0.1", tls), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "mosquitto's TLS listener never opened"
                    time.sleep(0.1)

            user = urlsplit((secrets / "mqtt_url").read_text())
            received: list[str] = []
            hub, _host, _port = client_for(f"mqtt://{user.username}:{user.password}@127.0.0.1:{plain}", "hub-init")
            hub.on_message = lambda c, u, m: received.append(m.topic)
            assert hub.connect("127.0.0.1", plain) == 0
            hub.subscribe("alliance/+/devices/+/vitals", qos=1)
            hub.loop_start()
            gateway, _host, _port = client_for(f"mqtt://gw-county-a:pw-a@localhost:{tls}", "gw-init")
            gateway.tls_set(ca_certs=str(secrets / "tls.crt"))  # the self-signed certificate names localhost
            gateway.connect("localhost", tls)
            gateway.loop_start()
            time.sleep(0.5)
            gateway.publish("alliance/county-a/devices/mon-01/vitals", json.dumps(vitals()), qos=1).wait_for_publish(5)
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:
                time.sleep(0.05)
            hub.loop_stop()
            gateway.loop_stop()
            assert received == ["alliance/county-a/devices/mon-01/vitals"]
        finally:
            broker.terminate()
            broker.wait(5)
            log.close()
    finally:
        shutil.rmtree(config, ignore_errors=True)
