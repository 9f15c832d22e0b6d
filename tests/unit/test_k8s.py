"""deploy/k8s: rendered with kustomize, validated with kubeconform, then checked for what the
schemas cannot see (one beat, graceful termination, probes, KEDA triggers on the right keys).

Tools come from deploy/local/tools.sh (make tools; `make test` runs it): kubeconform, kustomize
and standalone Kubernetes 1.32 schemas, no download at test time. KEDA's ScaledObject and
TriggerAuthentication are validated against the strict schemas shipped in deploy/k8s/schemas/.
A missing tool fails these tests; it never skips them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.keys import Keys
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".cache" / "tools"
SCHEMAS = ROOT / "deploy" / "k8s" / "schemas"
K8S_VERSION = "1.32.0"


def _tool(variable: str, default: Path) -> Path:
    path = Path(os.environ.get(variable, default))
    if not path.exists():
        pytest.fail(f"{path} is missing: run deploy/local/tools.sh (make tools) to install it")
    return path


@pytest.fixture(scope="module")
def tools() -> dict[str, Path]:
    return {
        "kustomize": _tool("NEWSFLOW_KUSTOMIZE", TOOLS / "bin" / "kustomize"),
        "kubeconform": _tool("NEWSFLOW_KUBECONFORM", TOOLS / "bin" / "kubeconform"),
        "schemas": _tool("NEWSFLOW_K8S_SCHEMAS", TOOLS / "k8s-schemas" / f"v{K8S_VERSION}"),
    }


@pytest.fixture(scope="module")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/k8s copied, with the local overlay's secrets generated the way an operator does."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(
        ROOT / "deploy" / "k8s", copy, ignore=shutil.ignore_patterns("secrets.env", "redis-auth.conf")
    )
    subprocess.run([str(copy / "overlays" / "local" / "make-secrets.sh")], check=True, capture_output=True)
    return copy


def _build(tools: dict[str, Path], path: Path) -> str:
    result = subprocess.run(
        [str(tools["kustomize"]), "build", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _kubeconform(tools: dict[str, Path], manifests: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            str(tools["kubeconform"]),
            "-strict",
            "-summary",
            "-output",
            "json",
            "-schema-location",
            f"{tools['schemas']}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            "-schema-location",
            f"{SCHEMAS}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        check=False,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    report["returncode"] = result.returncode
    return report


@pytest.fixture(scope="module")
def rendered(tools: dict[str, Path], k8s_copy: Path) -> str:
    return _build(tools, k8s_copy / "overlays" / "local")


@pytest.fixture(scope="module")
def docs(rendered: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(rendered) if d]


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _named(docs: list[dict[str, Any]], kind: str, prefix: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(prefix)]
    return found


# --- schema validation ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["overlays/local", "base"])
def test_every_resource_is_valid_and_none_is_skipped(
    tools: dict[str, Path], k8s_copy: Path, target: str
) -> None:
    report = _kubeconform(tools, _build(tools, k8s_copy / target))
    summary = report["summary"]
    assert report["returncode"] == 0, report["resources"]
    assert summary["invalid"] == 0 and summary["errors"] == 0 and summary["skipped"] == 0, report
    assert summary["valid"] >= 13


@pytest.mark.parametrize(
    ("kind", "broken"),
    [
        (
            "Deployment",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "x"},
                "spec": {"replica": 2, "selector": {}, "template": {}},
            },
        ),
        (
            "ScaledObject",
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": {"name": "x"},
                "spec": {
                    "scaleTargetRef": {"name": "w"},
                    "maxReplicas": 3,
                    "triggers": [{"type": "redis", "metadata": {}}],
                },
            },
        ),
    ],
)
def test_kubeconform_rejects_a_typo(tools: dict[str, Path], kind: str, broken: dict[str, Any]) -> None:
    report = _kubeconform(tools, yaml.safe_dump(broken))
    assert report["returncode"] != 0 and report["summary"]["invalid"] == 1, report


# --- what the schemas cannot see ----------------------------------------------------------

APP = ("crawler", "beat", "worker", "indexer", "source-health")


def test_exactly_one_beat_never_two_during_a_rollout(docs: list[dict[str, Any]]) -> None:
    beat = _one(docs, "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not [
        d for d in docs if d["kind"] == "ScaledObject" and d["spec"]["scaleTargetRef"]["name"] == "beat"
    ]


@pytest.mark.parametrize("name", APP)
def test_app_pods_have_probes_requests_grace_and_run_unprivileged(
    docs: list[dict[str, Any]], name: str
) -> None:
    pod = _one(docs, "Deployment", name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "metrics", probe
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    if name in {"crawler", "worker", "indexer"}:  # running work finishes on SIGTERM
        assert pod["terminationGracePeriodSeconds"] > Settings().task_time_limit
    annotations = _one(docs, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(container["ports"][0]["containerPort"])


def test_config_gives_every_process_a_metrics_port_and_names_real_settings(
    docs: list[dict[str, Any]],
) -> None:
    config = _named(docs, "ConfigMap", "newsflow-config-")["data"]
    assert config["METRICS_PORT"] == "9100"
    fields = {name.upper() for name in Settings.model_fields}
    assert set(config) <= fields, set(config) - fields
    assert config["INDEX_REPLICAS"] == "0"  # local overlay: a single-node Elasticsearch is green
    assert "CONTACT_URL" in config  # empty by default: the crawler refuses a public crawl until set


def test_sources_config_map_is_the_default_sources_file(docs: list[dict[str, Any]]) -> None:
    sources = _named(docs, "ConfigMap", "newsflow-sources-")["data"]["sources.yaml"]
    assert sources == (ROOT / "deploy" / "sources.yaml").read_text("utf-8")


def test_redis_password_comes_from_a_mounted_config_not_the_command_line(docs: list[dict[str, Any]]) -> None:
    redis = _one(docs, "StatefulSet", "redis")["spec"]["template"]["spec"]
    (container,) = redis["containers"]
    assert container["command"] == ["redis-server", "/etc/redis/redis.conf"]
    config = _one(docs, "ConfigMap", "redis-config")["data"]["redis.conf"]
    assert "include /etc/redis/auth/auth.conf" in config and "requirepass" not in config
    auth = _named(docs, "Secret", "redis-auth-")
    assert "auth.conf" in auth["data"]


def test_keda_worker_scales_on_the_extract_list_and_never_to_zero(docs: list[dict[str, Any]]) -> None:
    config = _named(docs, "ConfigMap", "newsflow-config-")["data"]
    keys = Keys(config["REDIS_PREFIX"])
    scaled = _one(docs, "ScaledObject", "worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "worker"
    assert scaled["spec"]["minReplicaCount"] >= 1  # in-flight (prefetched) messages are not in the list
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == keys.queue("extract")
    assert {"address", "listLength"} <= trigger["metadata"].keys()
    assert (
        scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
            "stabilizationWindowSeconds"
        ]
        >= 60
    )


def test_keda_indexer_scales_on_the_streams_pending_entries_and_lag(docs: list[dict[str, Any]]) -> None:
    config = _named(docs, "ConfigMap", "newsflow-config-")["data"]
    keys = Keys(config["REDIS_PREFIX"])
    scaled = _one(docs, "ScaledObject", "indexer")
    triggers = {t["name"]: t for t in scaled["spec"]["triggers"]}
    assert {t["type"] for t in triggers.values()} == {"redis-streams"}
    for trigger in triggers.values():
        assert trigger["metadata"]["stream"] == keys.index_stream
        assert trigger["metadata"]["consumerGroup"] == "indexers"
    assert "pendingEntriesCount" in triggers["pending"]["metadata"]
    assert "lagCount" in triggers["lag"]["metadata"]


def test_keda_authentication_names_the_generated_secret(docs: list[dict[str, Any]]) -> None:
    secret = _named(docs, "Secret", "newsflow-secrets-")
    auth = _one(docs, "TriggerAuthentication", "newsflow-redis")
    (ref,) = auth["spec"]["secretTargetRef"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["data"]
    for scaled in (d for d in docs if d["kind"] == "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"]["name"] == "newsflow-redis"


def test_service_commands_match_the_compose_file(docs: list[dict[str, Any]]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))["services"]

    def defaults(command: list[str]) -> list[str]:  # ${VAR:-default} -> default
        return [re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", arg) for arg in command]

    for name, service in (("crawler", "crawler"), ("worker", "worker"), ("source-health", "source-health")):
        k8s = _one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["command"]
        assert k8s == defaults(compose[service]["command"]), name
    beat = _one(docs, "Deployment", "beat")["spec"]["template"]["spec"]["containers"][0]["command"]
    assert beat == compose["crawler-beat"]["command"]
