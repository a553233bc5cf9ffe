"""Check the deployment files without Docker or a cluster: ``python deploy/check.py``.

- ``compose.yml`` against the Compose Specification's JSON schema (``deploy/schemas/``), and against
  this project: the files it mounts exist or are made by ``secrets/init.sh``, every secret is declared,
  every long-running service has a health check, exactly one beat and one device ingest, every
  environment variable it sets is one the hub reads (a typo would be ignored silently), and the hub's
  MQTT user (``secrets/init.sh``) is a user of ``mosquitto.acl``.
- ``k8s/`` (the files ``kustomization.yaml`` lists) against the Kubernetes schemas of the
  ``kubernetes-validate`` package (strict: unknown fields are errors), and: every Deployment's containers
  have probes (beat excepted), beat and the device ingest are one replica replaced with ``Recreate``,
  every Service, PodDisruptionBudget and Ingress points at something that exists, every ConfigMap key is
  a variable the hub reads, no Ingress carries a snippet annotation (ingress-nginx refuses them by default),
  and the broker has the ACL of ``mosquitto.acl``. With ``kubectl`` on the PATH the folder is also rendered
  (``kubectl kustomize``, as ``kubectl apply -k`` does) and the rendered objects are checked against the schemas.

Exit status 1 and one line per problem when anything is wrong. ``problems()`` is what the tests call.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
K8S_VERSION = "1.30.0"
# Made by hand in the cluster (kubectl create secret ... --from-file=deploy/secrets/) or by cert-manager.
EXTERNAL_SECRETS = {"hub-secrets", "hub-tls"}
# Variables read by programs other than the hub's settings (the images' own entrypoints).
FOREIGN_VARIABLES = {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD_FILE", "PGDATA", "PROMETHEUS_MULTIPROC_DIR"}
ENV_CALL = re.compile(r"""env_(?:str|bool|int|list|url|float)\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def hub_variables() -> set[str]:
    """Every environment variable the hub reads through ``hub.env`` (and its ``_FILE`` twin)."""
    names: set[str] = set()
    for path in (ROOT / "hub").rglob("*.py"):
        names.update(ENV_CALL.findall(path.read_text(encoding="utf-8")))
    for path in (ROOT / "federation").rglob("*.py"):
        names.update(ENV_CALL.findall(path.read_text(encoding="utf-8")))
    return names | {f"{name}_FILE" for name in names}


def _variable_problems(where: str, names, known: set[str]) -> list[str]:
    return [
        f"{where}: environment variable {name} is not read by the hub"
        for name in sorted(names)
        if name not in known and name not in FOREIGN_VARIABLES
    ]


# --- compose ---------------------------------------------------------------------


def compose_problems(path: Path = DEPLOY / "compose.yml") -> list[str]:
    import jsonschema

    problems: list[str] = []
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
        location = "/".join(str(part) for part in error.path) or "(top)"
        problems.append(f"{path.name}: {location}: {error.message[:200]}")
    if problems:
        return problems

    made_by_init = set(re.findall(r"\b([a-z_]+(?:\.[a-z]+)?)\b", (DEPLOY / "secrets" / "init.sh").read_text()))
    declared_secrets = document.get("secrets") or {}
    known = hub_variables()
    services = document.get("services") or {}
    beats = ingests = 0
    for name, service in services.items():
        where = f"{path.name}: service {name}"
        for secret in service.get("secrets") or []:
            secret_name = secret if isinstance(secret, str) else secret.get("source")
            if secret_name not in declared_secrets:
                problems.append(f"{where}: secret {secret_name} is not declared")
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./secrets/"):
                if Path(source).name not in made_by_init:
                    problems.append(f"{where}: {source} is neither committed nor made by secrets/init.sh")
            elif source.startswith((".", "/")) and not (path.parent / source).exists():
                problems.append(f"{where}: mounts {source}, which does not exist")
        environment = service.get("environment") or {}
        names = environment.keys() if isinstance(environment, dict) else [e.split("=", 1)[0] for e in environment]
        if service.get("image", "").startswith("alliance-hub"):
            problems += _variable_problems(where, names, known)
        command = " ".join(service.get("command") or []) if isinstance(service.get("command"), list) else ""
        if " beat" in f" {command}":
            beats += 1 * int((service.get("deploy") or {}).get("replicas", 1))
        if "devices_ingest" in command:
            ingests += int((service.get("deploy") or {}).get("replicas", 1))
        one_shot = service.get("restart") == "no"
        if not one_shot and "healthcheck" not in service and " beat" not in f" {command}":
            problems.append(f"{where}: no healthcheck")
    if beats != 1:
        problems.append(f"{path.name}: {beats} Celery beat processes (exactly one runs the periodic jobs)")
    if ingests != 1:
        problems.append(f"{path.name}: {ingests} device ingest processes (exactly one: manage.py devices_ingest)")
    for secret_name, secret in declared_secrets.items():
        file_name = Path(secret.get("file", "")).name
        if file_name not in made_by_init:
            problems.append(f"{path.name}: secret {secret_name}'s file {file_name} is not made by secrets/init.sh")
    return problems + mqtt_user_problems(path.parent)


def _acl_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def mqtt_user_problems(deploy: Path = DEPLOY) -> list[str]:
    """The hub's MQTT user (``secrets/init.sh``: the user of ``mqtt_url`` and of its password-file line) is a
    user of ``mosquitto.acl``: with an ACL file, a user it does not name may read no topic at all."""
    init = (deploy / "secrets" / "init.sh").read_text(encoding="utf-8")
    acl_users = {
        line.split()[1] for line in _acl_lines((deploy / "mosquitto.acl").read_text()) if line.startswith("user ")
    }
    url_users = set(re.findall(r"mqtt://([^:@/'\"]+):", init))
    passwd_users = set(re.findall(r"printf '([\w.-]+):%s\\n'[^\n]*> mosquitto_passwd", init))
    problems = []
    if not url_users:
        problems.append("secrets/init.sh: makes no mqtt_url")
    if url_users != passwd_users:
        problems.append(
            f"secrets/init.sh: mqtt_url's user {sorted(url_users)} is not the password file's {sorted(passwd_users)}"
        )
    for user in sorted(url_users - acl_users):
        problems.append(
            f"secrets/init.sh: the hub's MQTT user {user} has no block in mosquitto.acl (it could read nothing)"
        )
    return problems


# --- Kubernetes --------------------------------------------------------------------


def k8s_documents(folder: Path = DEPLOY / "k8s") -> list[tuple[str, dict]]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    documents = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((folder / resource).read_text(encoding="utf-8")):
            if document:
                documents.append((resource, document))
    return documents


def _containers(document: dict) -> list[dict]:
    spec = document.get("spec") or {}
    if document["kind"] == "Job":
        return spec["template"]["spec"]["containers"]
    if document["kind"] in ("Deployment", "StatefulSet"):
        return spec["template"]["spec"]["containers"]
    return []


def _pod_labels(document: dict) -> dict:
    return ((document.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}


def k8s_problems(folder: Path = DEPLOY / "k8s") -> list[str]:
    from kubernetes_validate import utils as kv

    problems: list[str] = []
    documents = k8s_documents(folder)
    for file_name, document in documents:
        try:
            kv.validate(document, K8S_VERSION, strict=True)
        except kv.ValidationError as error:
            location = "/".join(str(part) for part in error.path)
            problems.append(f"k8s/{file_name}: {document.get('kind')} {location}: {error.message[:200]}")
    if problems:
        return problems

    known = hub_variables()
    workloads = [d for _f, d in documents if d["kind"] in ("Deployment", "StatefulSet", "Job")]
    config_maps = {d["metadata"]["name"]: d for _f, d in documents if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"] for _f, d in documents if d["kind"] == "Secret"} | EXTERNAL_SECRETS
    services = {d["metadata"]["name"]: d for _f, d in documents if d["kind"] == "Service"}

    def selects(selector: dict) -> bool:
        return any(selector.items() <= _pod_labels(w).items() for w in workloads)

    for file_name, document in documents:
        kind, name = document["kind"], document["metadata"]["name"]
        where = f"k8s/{file_name}: {kind} {name}"
        spec = document.get("spec") or {}
        if kind == "Deployment":
            is_beat = name.endswith("beat")
            if is_beat and (spec.get("replicas") != 1 or (spec.get("strategy") or {}).get("type") != "Recreate"):
                problems.append(f"{where}: beat must be one replica replaced with Recreate")
            for container in _containers(document):
                if not is_beat and not (
                    "livenessProbe" in container and ("readinessProbe" in container or name.endswith("worker"))
                ):
                    problems.append(f"{where}: container {container['name']} has no probes")
        for container in _containers(document):
            for source in container.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name")
                if ref and ref not in config_maps:
                    problems.append(f"{where}: ConfigMap {ref} does not exist")
            for variable in container.get("env") or []:
                if not document["metadata"]["name"].startswith(("postgres", "redis", "mosquitto")):
                    problems += _variable_problems(where, [variable["name"]], known)
        volumes = ((spec.get("template") or {}).get("spec") or {}).get("volumes") or []
        for volume in volumes:
            if "secret" in volume and volume["secret"]["secretName"] not in secrets:
                problems.append(f"{where}: Secret {volume['secret']['secretName']} does not exist")
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                problems.append(f"{where}: ConfigMap {volume['configMap']['name']} does not exist")
        if kind in ("Service", "PodDisruptionBudget"):
            selector = spec.get("selector") or {}
            selector = selector.get("matchLabels", selector) if kind == "PodDisruptionBudget" else selector
            if not selects(selector):
                problems.append(f"{where}: its selector {selector} matches no pods")
        if kind == "Ingress":
            for annotation in (document["metadata"].get("annotations") or {}).keys():
                if annotation.endswith("-snippet"):
                    problems.append(f"{where}: {annotation}: ingress-nginx refuses snippet annotations by default")
            for tls in spec.get("tls") or []:
                if tls.get("secretName") not in secrets:
                    problems.append(f"{where}: TLS Secret {tls.get('secretName')} does not exist")
            for rule in spec.get("rules") or []:
                for rule_path in rule["http"]["paths"]:
                    backend = rule_path["backend"]["service"]["name"]
                    if backend not in services:
                        problems.append(f"{where}: backend Service {backend} does not exist")
    ingests = [
        d
        for d in workloads
        if d["kind"] == "Deployment"
        and any("devices_ingest" in " ".join(c.get("command") or []) for c in _containers(d))
    ]
    if len(ingests) != 1 or any(
        d["spec"].get("replicas") != 1 or (d["spec"].get("strategy") or {}).get("type") != "Recreate" for d in ingests
    ):
        problems.append("k8s: device ingest (manage.py devices_ingest) must be one Deployment of one replica, Recreate")
    mosquitto = config_maps.get("mosquitto-config")
    if mosquitto is not None:
        conf = _acl_lines(mosquitto["data"].get("mosquitto.conf", ""))
        if not any(line.startswith("acl_file ") for line in conf):
            problems.append(
                "k8s/mosquitto.yaml: no acl_file: every site's gateway could read and write every site's topics"
            )
        elif _acl_lines(mosquitto["data"].get("acl", "")) != _acl_lines((folder.parent / "mosquitto.acl").read_text()):
            problems.append("k8s/mosquitto.yaml: its acl is not deploy/mosquitto.acl")
    hub_config = config_maps.get("hub-config")
    if hub_config is None:
        problems.append("k8s: ConfigMap hub-config is missing")
    else:
        problems += _variable_problems("k8s/config.yaml: ConfigMap hub-config", hub_config["data"].keys(), known)
    multi = [d for d in workloads if d["kind"] == "Deployment" and (d["spec"].get("replicas") or 1) > 1]
    budgets = [d for _f, d in documents if d["kind"] == "PodDisruptionBudget"]
    for deployment in multi:
        labels = _pod_labels(deployment)
        if not any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets):
            problems.append(f"k8s: Deployment {deployment['metadata']['name']} has no PodDisruptionBudget")
    return problems + rendered_problems(folder)


def rendered_problems(folder: Path = DEPLOY / "k8s") -> list[str]:
    """With ``kubectl`` on the PATH: the folder renders as ``kubectl apply -k`` renders it (``kubectl kustomize``,
    no cluster needed), with the objects the files hold, each valid against the schemas once rendered."""
    import shutil
    import subprocess

    from kubernetes_validate import utils as kv

    kubectl = shutil.which("kubectl")
    if not kubectl:
        return []
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return [f"k8s: kubectl kustomize fails: {result.stderr.strip()[:300]}"]
    rendered = [document for document in yaml.safe_load_all(result.stdout) if document]
    problems = []
    for document in rendered:
        try:
            kv.validate(document, K8S_VERSION, strict=True)
        except kv.ValidationError as error:
            problems.append(
                f"k8s (rendered): {document.get('kind')} {document['metadata'].get('name')}: {error.message[:200]}"
            )
    files = sorted((d["kind"], d["metadata"]["name"]) for _f, d in k8s_documents(folder))
    objects = sorted((d["kind"], d["metadata"]["name"]) for d in rendered)
    if objects != files:
        problems.append(f"k8s: kubectl kustomize renders {objects}, the files hold {files}")
    return problems


def problems() -> list[str]:
    return compose_problems() + k8s_problems()


if __name__ == "__main__":
    found = problems()
    for line in found:
        print(line)
    print(f"deploy check: {len(found)} problem(s)" if found else "deploy check: compose.yml and k8s/ are valid")
    sys.exit(1 if found else 0)
