"""The deployment files keep their contract with the service: every Kubernetes manifest is valid for
the Kubernetes versions a hospital runs (kubernetes-validate, strict), and the Deployment, the
migration Job, compose.yaml and the Dockerfile agree with each other and with what the service
answers and reads. What the files ask of the running service — unprivileged with read-only code,
SIGTERM drain, readiness — is proved by tests/test_wheel.py, tests/test_shutdown.py and
tests/test_migrations.py."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cdshooks.app import create_app
from cdshooks.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0", kubernetes_validate.latest_version())
SETTINGS_NAMES = set(re.findall(r"CDSHOOKS_[A-Z_]+", (ROOT / "cdshooks" / "settings.py").read_text()))


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


MANIFESTS = manifests()


def kind(name: str) -> dict[str, Any]:
    (found,) = [doc for key, doc in MANIFESTS.items() if key.startswith(f"{name}/")]
    return found


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined), as (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def image_user() -> tuple[int, int]:
    (user,) = [args for instruction, args in dockerfile() if instruction == "USER"]
    match = re.fullmatch(r"(\d+):(\d+)", user)
    assert match, f"USER {user} is not a numeric uid:gid (runAsNonRoot needs one)"
    return int(match[1]), int(match[2])


def image_volumes() -> set[str]:
    (volumes,) = [args for instruction, args in dockerfile() if instruction == "VOLUME"]
    return set(yaml.safe_load(volumes))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_every_manifest_is_valid_kubernetes(name: str, version: str) -> None:
    kubernetes_validate.validate(MANIFESTS[name], version, strict=True)


def test_the_manifests_are_the_set_an_operator_needs() -> None:
    kinds = {key.split("/")[0] for key in MANIFESTS}
    assert kinds == {
        "ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job",
        "Ingress",
    }  # fmt: skip


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _command(container: dict[str, Any]) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def test_the_deployment_probes_what_the_service_answers(tmp_path: Path) -> None:
    container = _container(kind("Deployment"))
    app = create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}"))
    client = app.test_client()
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert client.get(container[probe]["httpGet"]["path"]).status_code == 200
    port = container["ports"][0]["containerPort"]
    command = _command(container)
    assert command[:2] == ["cdshooks", "serve"] and command[command.index("--port") + 1] == str(port)
    assert "--sandbox" not in command


def test_the_deployment_runs_unprivileged_on_a_read_only_root() -> None:
    deployment = kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    uid, gid = image_user()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert image_volumes() <= mounted, "every path the image declares writable is a volume"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]


def test_the_deployment_gives_calls_in_flight_their_graceful_time() -> None:
    deployment = kind("Deployment")
    container = _container(deployment)
    command = _command(container)
    graceful = int(command[command.index("--graceful-timeout") + 1])
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > pre_stop + graceful
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_settings_and_secrets_reach_the_service_by_their_real_names() -> None:
    config, secret = kind("ConfigMap"), kind("Secret")
    assert set(config["data"]) <= SETTINGS_NAMES, set(config["data"]) - SETTINGS_NAMES
    for workload in (kind("Deployment"), kind("Job")):
        container = _container(workload)
        for variable in container.get("env", []):
            assert variable["name"] in SETTINGS_NAMES | {"PROMETHEUS_MULTIPROC_DIR"}, variable["name"]
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                assert reference["name"] == secret["metadata"]["name"] and reference["key"] in secret["stringData"]
        for source in container.get("envFrom", []):
            assert source["configMapRef"]["name"] == config["metadata"]["name"]
    pod = kind("Deployment")["spec"]["template"]["spec"]
    (secret_volume,) = [v for v in pod["volumes"] if "secret" in v]
    env = {v["name"]: v.get("value") for v in _container(kind("Deployment"))["env"]}
    (mount,) = [m for m in _container(kind("Deployment"))["volumeMounts"] if m["name"] == secret_volume["name"]]
    (item,) = secret_volume["secret"]["items"]
    assert env["CDSHOOKS_PATIENT_KEY_SECRET_FILE"] == f"{mount['mountPath']}/{item['path']}"
    assert item["key"] in secret["stringData"]


def test_the_migration_job_upgrades_with_the_deployments_image() -> None:
    job, deployment = kind("Job"), kind("Deployment")
    assert _command(_container(job)) == ["cdshooks", "db", "upgrade"]
    assert _container(job)["image"] == _container(deployment)["image"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert _container(job)["securityContext"]["readOnlyRootFilesystem"] is True


def test_service_budget_autoscaler_and_ingress_point_at_the_deployment() -> None:
    deployment, service = kind("Deployment"), kind("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = kind("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert kind("HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 2
    assert kind("PodDisruptionBudget")["spec"]["minAvailable"] < kind("HorizontalPodAutoscaler")["spec"]["minReplicas"]
    port_names = {port["name"] for port in service["spec"]["ports"]}
    ingress = kind("Ingress")
    assert ingress["spec"]["tls"], "TLS ends at the ingress"
    paths = [path for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert [path["path"] for path in paths] == ["/cds-services"]  # not /metrics, /readyz or the sandbox page
    for path in paths:
        assert path["backend"]["service"]["name"] == service["metadata"]["name"]
        assert path["backend"]["service"]["port"]["name"] in port_names


def test_the_image_installs_the_locked_wheel_and_runs_unprivileged() -> None:
    instructions = dockerfile()
    stages = [args for instruction, args in instructions if instruction == "FROM"]
    assert len(stages) == 2, "a stage builds the wheel, another installs it"
    runs = " ".join(args for instruction, args in instructions if instruction == "RUN")
    assert "pip wheel" in runs and "--no-deps" in runs
    assert "--require-hashes -r /tmp/requirements.lock" in runs
    assert re.search(r"pip install [^&]*--no-deps /tmp/dist/cdshooks-\*\.whl", runs)
    assert " -e " not in runs and "--editable" not in runs
    uid, _ = image_user()
    assert uid >= 10000
    (healthcheck,) = [args for instruction, args in instructions if instruction == "HEALTHCHECK"]
    assert "/livez" in healthcheck
    (command,) = [args for instruction, args in instructions if instruction == "CMD"]
    assert "--graceful-timeout" in yaml.safe_load(command)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests/fhir_server/node_modules", "var"} <= set(ignored)


def test_compose_migrates_first_and_runs_like_the_cluster() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "cdshooks"}
    migrate, service = services["migrate"], services["cdshooks"]
    assert migrate["command"] == ["cdshooks", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    uid, gid = image_user()
    for container in (migrate, service):
        assert container["user"] == f"{uid}:{gid}" and container["read_only"] is True
        assert set(container["tmpfs"]) >= {"/tmp"}
        assert container["environment"]["CDSHOOKS_DATABASE_URL"].startswith("postgresql://")
        assert set(container["environment"]) <= SETTINGS_NAMES
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["environment"]["CDSHOOKS_PATIENT_KEY_SECRET_FILE"] == "/run/secrets/patient_key"
    command = service["command"]
    graceful = int(command[command.index("--graceful-timeout") + 1])
    assert int(service["stop_grace_period"].rstrip("s")) > graceful
    assert all(port.startswith("127.0.0.1:") for port in service["ports"])


def test_docker_commands_in_comments_name_the_real_cli() -> None:
    """The commands the files tell an operator to run are the CLI's."""
    for path in (ROOT / "Dockerfile", ROOT / "compose.yaml", *K8S.glob("*.yaml")):
        for line in path.read_text().splitlines():
            for found in re.findall(r"`(cdshooks [a-z]+[^`]*)`", line):
                words = shlex.split(found)
                assert words[1] in {"serve", "call", "db"}, (path.name, found)
