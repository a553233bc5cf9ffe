"""deploy/: a site's gateway credentials as ``manage.py devices_mqtt_credentials`` prints them work in a real
Mosquitto with the password file and the ACL (its own site's topics only)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.hub.devices.conftest import vitals

ACL = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto.acl"


def test_a_site_gateway_with_printed_credentials_publishes_only_its_own_topics():
    from hub.devices.ingest.mqtt import client_for
    from hub.devices.services import mosquitto_acl_lines, mosquitto_password_line

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        pytest.skip("mosquitto is not installed")
    port = free_port()
    # Mosquitto started as root reads its files as the "mosquitto" user: a folder everyone may read.
    tmp_path = Path(tempfile.mkdtemp(prefix="hub-mosquitto-"))
    tmp_path.chmod(0o755)
    (tmp_path / "passwd").write_text(
        mosquitto_password_line(username="gw-county-a", password="pw-a")
        + "\n"
        + mosquitto_password_line(username="alliance-hub", password="pw-hub")
        + "\n"
    )
    (tmp_path / "acl").write_text(
        ACL.read_text() + "\n" + mosquitto_acl_lines(username="gw-county-a", site_code="county-a")
    )
    config = [f"listener {port} 127.0.0.1", "allow_anonymous false"]
    config += [f"password_file {tmp_path / 'passwd'}", f"acl_file {tmp_path / 'acl'}"]
    (tmp_path / "mosquitto.conf").write_text("\n".join(config) + "\n")
    broker = subprocess.Popen([binary, "-c", str(tmp_path / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:  # until it listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.1)
    received: list[str] = []
    try:
        hub, host, p = client_for(f"mqtt://alliance-hub:pw-hub@127.0.0.1:{port}", "hub-acl")
        hub.on_message = lambda c, u, m: received.append(m.topic)
        assert hub.connect(host, p) == 0
        hub.subscribe("alliance/+/devices/+/vitals", qos=1)
        hub.loop_start()
        gateway, host, p = client_for(f"mqtt://gw-county-a:pw-a@127.0.0.1:{port}", "gw-acl")
        gateway.connect(host, p)
        gateway.loop_start()
        time.sleep(0.3)
        gateway.publish("alliance/county-b/devices/x/vitals", json.dumps(vitals()), qos=1).wait_for_publish(5)
        gateway.publish("alliance/county-a/devices/mon-03/vitals", json.dumps(vitals()), qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert received == ["alliance/county-a/devices/mon-03/vitals"]
        wrong, host, p = client_for(f"mqtt://gw-county-a:nope@127.0.0.1:{port}", "gw-wrong")
        outcome: list = []
        wrong.on_connect = lambda c, u, f, reason, props=None: outcome.append(reason.is_failure)
        wrong.connect(host, p)
        wrong.loop_start()
        deadline = time.monotonic() + 5
        while not outcome and time.monotonic() < deadline:
            time.sleep(0.05)
        wrong.loop_stop()
        assert outcome == [True]  # refused
        hub.loop_stop()
        gateway.loop_stop()
    finally:
        broker.terminate()
        broker.wait(5)
        shutil.rmtree(tmp_path, ignore_errors=True)
