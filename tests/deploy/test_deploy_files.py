"""The deployment files are checked without Docker or a cluster: the Compose and Kubernetes schemas, and
this project's own rules (secrets made, probes, exactly one beat, only variables the hub reads)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "deploy" / "check.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def test_the_compose_stack_and_the_kubernetes_manifests_pass_the_check():
    assert check.problems() == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", target)
    return target


def test_the_check_catches_a_second_beat_a_missing_probe_and_an_unknown_variable(tmp_path):
    deploy = _copy(tmp_path)
    compose = yaml.safe_load((deploy / "compose.yml").read_text())
    compose["services"]["beat"]["deploy"] = {"replicas": 2}
    del compose["services"]["web"]["healthcheck"]
    compose["services"]["web"]["environment"] = {"DATABSE_URL": "postgresql://typo"}
    del compose["services"]["devices"]
    (deploy / "compose.yml").write_text(yaml.safe_dump(compose))
    found = check.compose_problems(deploy / "compose.yml")
    assert any("0 device ingest processes" in line for line in found)
    assert any("2 Celery beat" in line for line in found)
    assert any("service web: no healthcheck" in line for line in found)
    assert any("DATABSE_URL is not read by the hub" in line for line in found)


def test_the_check_catches_an_invalid_manifest_and_a_service_selecting_nothing(tmp_path):
    deploy = _copy(tmp_path)
    web = list(yaml.safe_load_all((deploy / "k8s" / "web.yaml").read_text()))
    web[0]["spec"]["template"]["spec"]["containers"][0]["livenessProb"] = web[0]["spec"]["template"]["spec"][
        "containers"
    ][0].pop("livenessProbe")
    (deploy / "k8s" / "web.yaml").write_text(yaml.safe_dump_all(web))
    found = check.k8s_problems(deploy / "k8s")
    assert any("livenessProb" in line for line in found)  # strict schema: an unknown field

    deploy = _copy(tmp_path / "second")
    web = list(yaml.safe_load_all((deploy / "k8s" / "web.yaml").read_text()))
    web[1]["spec"]["selector"] = {"app.kubernetes.io/name": "hub-wbe"}
    (deploy / "k8s" / "web.yaml").write_text(yaml.safe_dump_all(web))
    assert any("matches no pods" in line for line in check.k8s_problems(deploy / "k8s"))

    deploy = _copy(tmp_path / "third")
    ingress = yaml.safe_load((deploy / "k8s" / "ingress.yaml").read_text())
    ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/server-snippet"] = "location = /x { deny all; }"
    (deploy / "k8s" / "ingress.yaml").write_text(yaml.safe_dump(ingress))
    assert any("refuses snippet annotations" in line for line in check.k8s_problems(deploy / "k8s"))


def test_the_check_catches_a_hub_mqtt_user_the_acl_does_not_name_and_a_broker_without_an_acl(tmp_path):
    deploy = _copy(tmp_path)
    init = deploy / "secrets" / "init.sh"
    init.write_text(init.read_text().replace("alliance-hub:", "hub:"))  # what init.sh made before: no ACL block
    found = check.compose_problems(deploy / "compose.yml")
    assert any("MQTT user hub has no block in mosquitto.acl" in line for line in found), found

    mosquitto = list(yaml.safe_load_all((deploy / "k8s" / "mosquitto.yaml").read_text()))
    conf = mosquitto[0]["data"]["mosquitto.conf"]
    mosquitto[0]["data"]["mosquitto.conf"] = conf.replace("acl_file /mosquitto/config/acl\n", "")
    (deploy / "k8s" / "mosquitto.yaml").write_text(yaml.safe_dump_all(mosquitto))
    assert any("no acl_file" in line for line in check.k8s_problems(deploy / "k8s"))


def _docker_engine() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine on this machine")
def test_the_image_builds():
    result = subprocess.run(
        [shutil.which("docker"), "build", "-f", "deploy/Dockerfile", "-t", "alliance-hub:ci", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
