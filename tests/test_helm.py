"""The Helm chart of every combination, validated offline.

For each combination, with the chart's default values and with every optional feature on:

* ``helm lint --strict`` and ``helm template`` (Helm 3, ``helm`` on PATH or in ~/go/bin);
* every rendered resource against Kubernetes' own schemas in strict mode (unknown fields are
  errors), for Kubernetes ``KUBERNETES_VERSION``: the ``kubernetes-validate`` package bundles
  the schemas, no cluster or network is needed;
* KEDA's ``ScaledObject`` against KEDA's CRD schema kept in tests/schemas (unknown fields
  refused, as ``kubectl apply --validate=strict`` does);
* kube-score (``kube-score`` on PATH or in ~/go/bin) with its optional security checks on:
  no critical finding; the checks left out are in ``KUBE_SCORE_IGNORED``, each with why;
* what the chart promises: every setting of .env.example mapped, nothing secret in values,
  probes, graceful shutdown, one uvicorn worker per pod, migrations as a hook Job, workers
  and their autoscaling per queue, pod security.

Without helm or kube-score the tests are skipped, except under CI (``CI`` set), where they
fail: .ci/run installs both.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from conftest import Renderer, render_or_skip

KUBERNETES_VERSION = "1.33.0"
KEDA_CRD = Path(__file__).parent / "schemas" / "keda.sh_scaledobjects.yaml"
RELEASE = "release"

# kube-score checks not applied, and why.
KUBE_SCORE_IGNORED = {
    # The image tag is the release's version and never reused: IfNotPresent starts pods
    # without a registry round trip and while the registry is down. Set image.pullPolicy to
    # Always where nodes are shared by tenants that must not use each other's pulled images.
    "container-image-pull-policy",
}
KUBE_SCORE_OPTIONAL = ("container-seccomp-profile", "container-ports-check")

# Every optional feature of the chart on, secrets given (so the Secret holds every key).
ALL_FEATURES: dict[str, Any] = {
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "host": "api.example.org",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "1m"},
        "tls": {"enabled": True, "secretName": "api-example-org-tls"},
    },
    "networkPolicy": {
        "enabled": True,
        "apiFrom": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}
        ],
    },
    "keda": {"enabled": True, "authenticationRef": "redis-auth"},
    "imagePullSecrets": [{"name": "registry"}],
    "api": {"podAnnotations": {"example.org/team": "backend"}},
}
SECRET_VALUES = {
    "DATABASE_URL": "postgresql+asyncpg://app:pw@db:5432/app",
    "JWT_SECRET": "x" * 48,
    "SMTP_USERNAME": "mailer",
    "SMTP_PASSWORD": "pw",
    "FIRST_ADMIN_PASSWORD": "correct horse battery staple",
    "REDIS_URL": "redis://:pw@redis:6379/0",
}


def tool(name: str) -> str:
    """A Go tool on PATH or in ~/go/bin; skipped without it, a failure under CI."""
    found = shutil.which(name) or shutil.which(name, path=str(Path.home() / "go" / "bin"))
    if found:
        return found
    message = f"{name} not found (.ci/run installs it: see its Helm section)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def helm() -> str:
    return tool("helm")


@pytest.fixture(scope="module")
def kube_score() -> str:
    return tool("kube-score")


def run(command: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Chart:
    project: Path
    path: Path
    combo: dict[str, str]

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = yaml.safe_load((self.path / "values.yaml").read_text())
        return values


def chart_of(project: Path, combo: dict[str, str]) -> Chart:
    charts = sorted((project / "deploy" / "helm").iterdir())
    assert len(charts) == 1, charts
    return Chart(project, charts[0], combo)


def values_file(directory: Path, name: str, values: dict[str, Any]) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def all_features(chart: Chart) -> dict[str, Any]:
    secret_keys = chart.values()["secretEnv"]
    return ALL_FEATURES | {
        "secretEnv": {k: v for k, v in SECRET_VALUES.items() if k in secret_keys}
    }


def rendered(helm: str, chart: Chart, *values: Path) -> tuple[str, list[dict[str, Any]]]:
    args = [helm, "template", RELEASE, str(chart.path), "--namespace", "apps"]
    for path in values:
        args += ["--values", str(path)]
    manifest = run(args)
    documents = [doc for doc in yaml.safe_load_all(manifest) if doc]
    return manifest, documents


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever an object lists its properties."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def keda_schema() -> dict[str, Any]:
    crd = yaml.safe_load(KEDA_CRD.read_text(encoding="utf-8"))
    [version] = crd["spec"]["versions"]
    schema: dict[str, Any] = strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta: Kubernetes' own
    return schema


def validate_schemas(documents: list[dict[str, Any]]) -> None:
    for doc in documents:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["apiVersion"] == "keda.sh/v1alpha1":
            try:
                jsonschema.validate(doc, keda_schema())
            except jsonschema.ValidationError as error:
                pytest.fail(f"{name}: {error.message} at {list(error.absolute_path)}")
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {error.message} at {list(error.path)}", pytrace=False)


def score(kube_score: str, manifest: str, directory: Path) -> None:
    path = directory / "manifest.yaml"
    path.write_text(manifest, encoding="utf-8")
    command = [kube_score, "score", "--output-format", "ci", str(path)]
    for check in sorted(KUBE_SCORE_IGNORED):
        command += ["--ignore-test", check]
    for check in KUBE_SCORE_OPTIONAL:
        command += ["--enable-optional-test", check]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    critical = [line for line in done.stdout.splitlines() if line.startswith("[CRITICAL]")]
    assert critical == [], "\n".join(critical)
    assert done.returncode == 0, done.stdout + done.stderr


def env_keys(env_example: str) -> set[str]:
    """`NAME=value`, and `#NAME=value` for a setting left unset (the servers' addresses)."""
    return {match[1] for match in re.finditer(r"^#?([A-Z][A-Z0-9_]*)=", env_example, flags=re.M)}


@pytest.fixture
def chart(combo: dict[str, str], render_project: Renderer) -> Chart:
    return chart_of(render_or_skip(render_project, combo), combo)


def test_chart(
    chart: Chart,
    helm: str,
    kube_score: str,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    features = values_file(tmp_path, "all-features", all_features(chart))
    existing = values_file(tmp_path, "existing-secret", {"existingSecret": "my-secrets"})
    run([helm, "lint", "--strict", str(chart.path)])
    run([helm, "lint", "--strict", str(chart.path), "--values", str(features)])
    outputs: dict[str, list[dict[str, Any]]] = {}
    for name, values in (("defaults", ()), ("all", (features,)), ("existing", (existing,))):
        manifest, documents = rendered(helm, chart, *values)
        validate_schemas(documents)
        directory = tmp_path / name
        directory.mkdir()
        score(kube_score, manifest, directory)
        outputs[name] = documents
    check_promises(chart, outputs["defaults"], outputs["all"], outputs["existing"])
    record_property("timings", {"helm+validation": round(time.perf_counter() - started, 1)})


def check_promises(
    chart: Chart,
    defaults: list[dict[str, Any]],
    everything: list[dict[str, Any]],
    external: list[dict[str, Any]],
) -> None:
    combo = chart.combo
    values = chart.values()
    broker = combo["queue"] != "background_tasks"
    postgres = combo["database"] == "postgres"
    full = f"{RELEASE}-{chart.path.name}"

    # Every setting of .env.example is in the ConfigMap or the Secret; no secret in values.
    env_example = (chart.project / ".env.example").read_text(encoding="utf-8")
    assert set(values["config"]) | set(values["secretEnv"]) == env_keys(env_example)
    assert not set(values["config"]) & set(values["secretEnv"])
    assert all(value == "" for value in values["secretEnv"].values()), values["secretEnv"]
    assert "JWT_SECRET" in values["secretEnv"] and "DATABASE_URL" in values["secretEnv"]
    assert values["config"]["ENVIRONMENT"] == "production"

    # The chart follows the project's version.
    pyproject = tomllib.loads((chart.project / "pyproject.toml").read_text(encoding="utf-8"))
    chart_yaml = yaml.safe_load((chart.path / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart_yaml["appVersion"] == pyproject["project"]["version"]
    assert chart_yaml["name"] == pyproject["project"]["name"]

    config = by_kind(defaults, "ConfigMap")[full]
    assert set(config["data"]) == set(values["config"])
    secret = by_kind(everything, "Secret")[full]
    assert set(secret["data"]) == set(values["secretEnv"])
    decoded = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert decoded == {key: SECRET_VALUES[key] for key in values["secretEnv"]}
    # Defaults: only the generated JWT secret, long enough for production.
    default_secret = by_kind(defaults, "Secret")[full]
    assert set(default_secret["data"]) == {"JWT_SECRET"}
    assert len(base64.b64decode(default_secret["data"]["JWT_SECRET"])) == 64
    assert full not in by_kind(external, "Secret")

    deployments = by_kind(defaults, "Deployment")
    api = deployments[full]["spec"]["template"]["spec"]
    [container] = api["containers"]
    assert "command" not in container and "args" not in container  # the image's command
    assert {"name": "WEB_CONCURRENCY", "value": "1"} in container["env"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    # Longer than the endpoint removal lag; the grace period covers it and the drain.
    assert pre_stop >= 5
    assert api["terminationGracePeriodSeconds"] >= pre_stop + 30
    assert "replicas" not in deployments[full]["spec"]  # the HPA owns it
    assert deployments[full]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert (
        by_kind(defaults, "HorizontalPodAutoscaler")[full]["spec"]["metrics"][0]["resource"]["name"]
        == "cpu"
    )
    assert full in by_kind(defaults, "PodDisruptionBudget")
    assert full in by_kind(defaults, "Service")
    assert full not in by_kind(defaults, "Ingress")
    ingress = by_kind(everything, "Ingress")[full]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["rules"][0]["host"] == "api.example.org"
    for env_from in (container["envFrom"],):
        assert {"configMapRef": {"name": full}} in env_from
        assert {"secretRef": {"name": full}} in env_from
    external_api = by_kind(external, "Deployment")[full]["spec"]["template"]["spec"]
    assert {"secretRef": {"name": "my-secrets"}} in external_api["containers"][0]["envFrom"]

    # Pod security, every pod of every resource.
    for documents in (defaults, everything):
        for pod in pods(documents):
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            for each in pod["containers"]:
                context = each["securityContext"]
                assert context["readOnlyRootFilesystem"] is True
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"] == {"drop": ["ALL"]}
                assert {"name": "tmp", "mountPath": "/tmp"} in each["volumeMounts"]
                assert set(each["resources"]) == {"requests", "limits"}

    # Migrations: a hook Job before install and upgrade, for PostgreSQL only.
    jobs = by_kind(defaults, "Job")
    assert (f"{full}-migrations" in jobs) == postgres
    if postgres:
        job = jobs[f"{full}-migrations"]
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        [migrate] = job["spec"]["template"]["spec"]["containers"]
        assert migrate["command"] == ["alembic", "upgrade", "head"]
        assert migrate["image"] == container["image"]
        hook_config = by_kind(defaults, "ConfigMap")[f"{full}-migrations"]
        assert hook_config["data"] == config["data"]
        external_job = by_kind(external, "Job")[f"{full}-migrations"]
        [external_migrate] = external_job["spec"]["template"]["spec"]["containers"]
        assert {"secretRef": {"name": "my-secrets"}} in external_migrate["envFrom"]

    # Workers: their own Deployment; KEDA on the queue where a scaler fits it.
    worker = f"{full}-worker"
    assert (worker in deployments) == broker
    scaled = by_kind(everything, "ScaledObject")
    hpas = by_kind(everything, "HorizontalPodAutoscaler")
    if broker:
        [worker_container] = deployments[worker]["spec"]["template"]["spec"]["containers"]
        assert worker_container["command"] == values["worker"]["command"]
        assert worker_container["image"] == container["image"]
        assert worker in by_kind(defaults, "HorizontalPodAutoscaler")
        assert worker in by_kind(defaults, "PodDisruptionBudget")
    expected_trigger = {"celery": "redis", "taskiq": "redis-streams"}.get(combo["queue"])
    if expected_trigger is None:
        assert scaled == {}
        assert (worker in hpas) == broker  # ARQ: CPU, no scaler counts a sorted set
    else:
        [trigger] = scaled[worker]["spec"]["triggers"]
        assert trigger["type"] == expected_trigger
        queue_name = values["config"]["TASK_QUEUE_NAME"]
        key = "listName" if expected_trigger == "redis" else "stream"
        assert trigger["metadata"][key] == queue_name
        assert trigger["authenticationRef"] == {"name": "redis-auth"}
        assert worker not in hpas  # KEDA makes its own


def pods(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for doc in documents:
        if doc["kind"] in {"Deployment", "Job"}:
            yield doc["spec"]["template"]["spec"]
