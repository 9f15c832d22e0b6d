"""docker-compose.yml, compose.override.yml, the Dockerfile and the Makefile's compose calls.

There is no Docker engine where these tests run, so they check the files themselves: the
stack starts in order (healthchecks, depends_on conditions), the versions agree with
deploy/local/versions.env and constraints.txt, and every service runs the command
deploy/local/supervisord.conf runs for the same role.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
OVERRIDE = yaml.safe_load((ROOT / "compose.override.yml").read_text("utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = "\n".join(
    line
    for line in (ROOT / "deploy" / "docker" / "Dockerfile").read_text("utf-8").splitlines()
    if not line.lstrip().startswith("#")
)  # instructions only, comments dropped
STATEFUL = ("redis", "elasticsearch", "kibana")
VERSIONS_ENV = ROOT / "deploy" / "local" / "versions.env"


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _plain_variables(tokens: list[str]) -> list[str]:
    """``${X:-4}`` (compose) and ``%(ENV_X)s`` (supervisord) both become ``${X}``."""
    return [re.sub(r"%\(ENV_([A-Z0-9_]+)\)s|\$\{([A-Z0-9_]+)(?::?-[^}]*)?\}", r"${\1\2}", t) for t in tokens]


def procfile() -> dict[str, list[str]]:
    """Role -> command tokens of deploy/local/supervisord.conf's programs."""
    conf = configparser.RawConfigParser()
    conf.read(ROOT / "deploy" / "local" / "supervisord.conf", encoding="utf-8")
    roles = {}
    for section in conf.sections():
        if section.startswith("program:"):
            command = conf.get(section, "command").replace("%%", "%")
            roles[section.removeprefix("program:")] = _plain_variables(shlex.split(command))
    return roles


PROCFILE = procfile()
APP_SERVICES = [role.replace("_", "-") for role in PROCFILE]


def option(tokens: list[str], name: str) -> str | None:
    return tokens[tokens.index(name) + 1] if name in tokens else None


def celery_shape(tokens: list[str]) -> tuple[str | None, str, str | None, str | None]:
    """(-A app, sub-command, -Q queue, -n node name) of a `python -m celery` command."""
    assert tokens[:3] == ["python", "-m", "celery"], tokens
    app = option(tokens, "-A")
    subcommand = tokens[tokens.index("-A") + 2]
    return app, subcommand, option(tokens, "-Q"), option(tokens, "-n")


def without_option(tokens: list[str], name: str) -> list[str]:
    if name not in tokens:
        return tokens
    at = tokens.index(name)
    return tokens[:at] + tokens[at + 2 :]


# --- the helpers themselves can fail ----------------------------------------------------


def test_celery_shape_reads_app_queue_and_node() -> None:
    tokens = shlex.split("python -m celery -A services.worker.tasks worker -Q extract -n worker@%h")
    assert celery_shape(tokens) == ("services.worker.tasks", "worker", "extract", "worker@%h")
    assert celery_shape(shlex.split("python -m celery -A a.tasks beat --schedule x"))[2] is None
    with pytest.raises(AssertionError):
        celery_shape(["celery", "-A", "a", "worker"])


def test_procfile_is_read() -> None:
    assert {"crawler", "crawler_beat", "worker", "indexer"} <= PROCFILE.keys()
    assert PROCFILE["worker"][0] == "python"


# --- versions -------------------------------------------------------------------------


def test_versions_env_is_elasticsearch_9_and_matches_the_client_major() -> None:
    version = env_file(VERSIONS_ENV)["ELASTICSEARCH_VERSION"]
    assert re.fullmatch(r"9\.\d+\.\d+", version), version
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["elasticsearch"].split(".")[0] == version.split(".")[0]


def test_elastic_images_follow_versions_env_and_fail_fast_without_it() -> None:
    assert SERVICES["elasticsearch"]["image"].startswith(
        "docker.elastic.co/elasticsearch/elasticsearch:${ELASTICSEARCH_VERSION:?"
    )
    assert SERVICES["kibana"]["image"].startswith("docker.elastic.co/kibana/kibana:${ELASTICSEARCH_VERSION:?")
    version = env_file(VERSIONS_ENV)["ELASTICSEARCH_VERSION"]
    for name in ("docker-compose.yml", "compose.override.yml"):
        text = (ROOT / name).read_text("utf-8")
        assert version not in text, f"{name}: the version lives in deploy/local/versions.env only"


def test_makefile_passes_versions_env_to_every_compose_call() -> None:
    calls = [line for line in (ROOT / "Makefile").read_text("utf-8").splitlines() if "docker compose" in line]
    assert len(calls) >= 3  # up, down, logs
    for line in calls:
        assert "docker compose --env-file deploy/local/versions.env " in line, line


# --- stateful services ----------------------------------------------------------------


@pytest.mark.parametrize("name", STATEFUL)
def test_stateful_services_have_healthchecks_and_volumes(name: str) -> None:
    service = SERVICES[name]
    test = service["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1
    assert service["restart"] == "unless-stopped"
    assert any(str(volume).split(":")[0] in COMPOSE["volumes"] for volume in service["volumes"])


def test_redis_is_the_official_7_image_with_aof() -> None:
    redis = SERVICES["redis"]
    assert redis["image"] == "redis:7"
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "noeviction" in command
    assert "ping" in " ".join(redis["healthcheck"]["test"])


def test_elasticsearch_is_a_single_node_with_heap_and_cluster_health_check() -> None:
    es = SERVICES["elasticsearch"]
    env = es["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"
    assert "-Xms" in env["ES_JAVA_OPTS"] and "-Xmx" in env["ES_JAVA_OPTS"]
    assert "_cluster/health" in " ".join(es["healthcheck"]["test"])


def test_kibana_waits_for_elasticsearch_and_publishes_5601() -> None:
    kibana = SERVICES["kibana"]
    assert kibana["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert any(str(port).endswith(":5601") for port in kibana["ports"])
    assert "/api/status" in " ".join(kibana["healthcheck"]["test"])


# --- setup and the app services -------------------------------------------------------


def test_setup_waits_for_elasticsearch_and_kibana_then_runs_index_setup_and_import() -> None:
    setup = SERVICES["setup"]
    assert setup["restart"] == "no"
    assert setup["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert setup["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert setup["environment"]["KIBANA_URL"] == "${KIBANA_URL:-http://kibana:5601}"
    (script,) = setup["command"]
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} must be executable"
    body = path.read_text("utf-8")
    assert "python -m services.indexer setup" in body
    assert body.index("services.indexer setup") < body.index("deploy/kibana/import.sh")
    assert os.access(ROOT / "deploy" / "kibana" / "import.sh", os.X_OK)


def test_every_procfile_role_has_a_compose_service() -> None:
    assert set(APP_SERVICES) <= SERVICES.keys()


@pytest.mark.parametrize("role", sorted(PROCFILE))
def test_app_service_commands_match_the_procfile(role: str) -> None:
    service = SERVICES[role.replace("_", "-")]
    local, compose = PROCFILE[role], _plain_variables(service["command"])
    assert isinstance(compose, list), "exec form: no shell between Docker and the process"
    if compose[:3] == ["python", "-m", "celery"]:
        assert celery_shape(compose) == celery_shape(local)
    # Identical apart from where beat keeps its schedule file.
    assert without_option(compose, "--schedule") == without_option(local, "--schedule")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_stores_and_setup(name: str) -> None:
    depends = SERVICES[name]["depends_on"]
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["elasticsearch"]["condition"] == "service_healthy"
    assert depends["setup"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_can_scale(name: str) -> None:
    service = SERVICES[name]
    assert service["restart"] == "unless-stopped"
    assert "container_name" not in service and "ports" not in service
    assert "ports" not in OVERRIDE["services"].get(name, {})


def test_one_image_for_every_python_service() -> None:
    python_services = [*APP_SERVICES, "setup"]
    images = {SERVICES[name]["image"] for name in python_services}
    builds = {str(SERVICES[name]["build"]) for name in python_services}
    assert len(images) == 1 and len(builds) == 1
    assert SERVICES["setup"]["build"]["dockerfile"] == "deploy/docker/Dockerfile"


def test_beat_schedule_lives_on_a_volume_the_image_lets_the_user_write() -> None:
    beat = SERVICES["crawler-beat"]
    schedule = option(beat["command"], "--schedule")
    assert schedule is not None
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in beat["volumes"]}
    directory = str(Path(schedule).parent)
    assert mounts[directory] in COMPOSE["volumes"]
    assert f"mkdir -p {directory}" in DOCKERFILE and f"chown newsflow:newsflow {directory}" in DOCKERFILE


def test_stores_default_to_the_bundled_servers_but_are_overridable() -> None:
    for name in [*APP_SERVICES, "setup"]:
        env = SERVICES[name]["environment"]
        assert env["REDIS_URL"] == "${REDIS_URL:-redis://redis:6379/0}"
        assert env["ELASTICSEARCH_URL"] == "${ELASTICSEARCH_URL:-http://elasticsearch:9200}"
        # Secrets pass through only when set: an empty ELASTICSEARCH_API_KEY would be sent as a key.
        assert env["ELASTICSEARCH_API_KEY"] is None and env["ELASTICSEARCH_PASSWORD"] is None


def test_app_environment_names_are_real_settings() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    import_script = (ROOT / "deploy" / "kibana" / "import.sh").read_text("utf-8")
    for name in [*APP_SERVICES, "setup"]:
        for variable in SERVICES[name]["environment"]:
            if variable.startswith("KIBANA_"):
                assert variable in import_script, f"{variable} is not read by import.sh"
            else:
                assert variable in settings, f"{name}: {variable} is not a field of shared/settings.py"


def test_override_holds_the_development_extras() -> None:
    for name in APP_SERVICES:
        dev = OVERRIDE["services"][name]
        assert dev["environment"]["LOG_FORMAT"] == "console"
        assert dev["environment"]["LOG_LEVEL"] == "DEBUG"
        assert "./services:/app/services:ro" in dev["volumes"]
    assert SERVICES["worker"]["environment"]["LOG_FORMAT"] == "${LOG_FORMAT:-json}"


def test_every_interpolation_is_well_formed() -> None:
    for path in (ROOT / "docker-compose.yml", ROOT / "compose.override.yml"):
        text = path.read_text("utf-8")
        for match in re.finditer(r"\$\{([^}]*)\}", text):
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*(?:(?::?[-?])[^}]*)?", match.group(1)), match.group(0)
        assert "$" not in re.sub(r"\$\{[^}]*\}", "", text), f"{path.name}: a bare $ would be interpolated"


# --- the image ------------------------------------------------------------------------


def test_dockerfile_installs_the_pinned_package_without_dev_tools_and_runs_unprivileged() -> None:
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, flags=re.M)
    assert "pip install -c constraints.txt ." in DOCKERFILE
    assert "[dev]" not in DOCKERFILE and "optional-dependencies" not in DOCKERFILE
    assert re.search(r"^WORKDIR /app$", DOCKERFILE, flags=re.M)
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.M)
    assert user and user[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_copies_the_repo_layout_the_code_reads() -> None:
    copied = {
        source.rstrip("/")
        for line in DOCKERFILE.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    }
    assert {"shared", "services", "deploy", "pyproject.toml", "constraints.txt"} <= copied
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["shared", "services", "deploy", "deploy/elasticsearch", "deploy/kibana", "deploy/docker"]
    for path in [*needed, "pyproject.toml", "constraints.txt"]:
        assert path not in ignored, f".dockerignore drops {path}, which the image needs"
    for path in copied - {"README.md*"}:
        assert (ROOT / path).exists(), f"COPY {path}: no such file"


# --- the real compose, where one is installed -------------------------------------------


def _compose_command() -> list[str] | None:
    """`docker compose` (plugin) or a Compose v2 `docker-compose` binary; None without either."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and "v2." in probe.stdout:
            return command
    return None


def _render(*args: str) -> subprocess.CompletedProcess[str]:
    command = _compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2 on this machine")
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [*command, *args, "config", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("files", [[], ["-f", "docker-compose.yml"]], ids=["with-override", "production"])
def test_real_compose_renders_the_stack(files: list[str]) -> None:
    result = _render("--env-file", "deploy/local/versions.env", *files)
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    rendered = json.loads(result.stdout)
    version = env_file(VERSIONS_ENV)["ELASTICSEARCH_VERSION"]
    assert rendered["services"]["kibana"]["image"].endswith(f":{version}")
    assert set(APP_SERVICES) <= rendered["services"].keys()


def test_real_compose_refuses_to_run_without_the_version() -> None:
    result = _render("-f", "docker-compose.yml")
    # Some Compose wrappers exit 0 on errors: the missing output and the message are what count.
    assert not result.stdout.strip()
    assert "ELASTICSEARCH_VERSION" in result.stderr
