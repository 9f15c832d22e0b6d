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
    lines = (ROOT / "Makefile").read_text("utf-8").splitlines()
    (definition,) = [line for line in lines if "docker compose" in line]
    assert definition.startswith("COMPOSE := docker compose --env-file deploy/local/versions.env ")
    calls = [line for line in lines if "$(COMPOSE)" in line]
    assert len(calls) >= 3  # up, down, logs


# --- stateful services ----------------------------------------------------------------


@pytest.mark.parametrize("name", STATEFUL)
def test_stateful_services_have_healthchecks_and_volumes(name: str) -> None:
    service = SERVICES[name]
    test = service["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1
    assert service["restart"] == "unless-stopped"
    assert any(str(volume).split(":")[0] in COMPOSE["volumes"] for volume in service["volumes"])


def test_redis_is_the_official_7_image_with_aof_and_a_password_from_its_config_file() -> None:
    redis = SERVICES["redis"]
    assert redis["image"] == "redis:7"
    assert redis["command"] == ["redis-server", "/usr/local/etc/redis/redis.conf"]
    (config,) = redis["configs"]
    assert config["target"] == "/usr/local/etc/redis/redis.conf"
    content = COMPOSE["configs"][config["source"]]["content"]
    assert "appendonly yes" in content and "noeviction" in content
    assert "requirepass ${REDIS_PASSWORD:?" in content
    assert "ping" in " ".join(redis["healthcheck"]["test"])
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")  # not an argument


def test_elasticsearch_is_a_secured_single_node_with_heap_and_cluster_health_check() -> None:
    es = SERVICES["elasticsearch"]
    env = es["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    assert "-Xms" in env["ES_JAVA_OPTS"] and "-Xmx" in env["ES_JAVA_OPTS"]
    check = " ".join(es["healthcheck"]["test"])
    assert "_cluster/health" in check and "-K -" in check  # credentials on stdin, not argv


def test_kibana_logs_in_as_kibana_system_after_setup() -> None:
    kibana = SERVICES["kibana"]
    assert kibana["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert kibana["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["environment"]["ELASTICSEARCH_PASSWORD"].startswith("${KIBANA_SYSTEM_PASSWORD:?")
    assert "/api/status" in " ".join(kibana["healthcheck"]["test"])


@pytest.mark.parametrize(("name", "port"), [("kibana", "5601"), ("elasticsearch", "9200"), ("redis", "6379")])
def test_published_ports_bind_to_loopback_unless_bind_address_says_otherwise(name: str, port: str) -> None:
    (published,) = SERVICES[name]["ports"]
    assert published.startswith("${BIND_ADDRESS:-127.0.0.1}:") and published.endswith(f":{port}")
    for service_name, service in [*SERVICES.items(), *OVERRIDE["services"].items()]:
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("${BIND_ADDRESS:-127.0.0.1}:"), f"{service_name}: {mapping}"


def test_secrets_are_generated_into_an_ignored_file_and_required() -> None:
    script = ROOT / "deploy" / "docker" / "secrets.sh"
    assert os.access(script, os.X_OK)
    body = script.read_text("utf-8")
    for name in ("ELASTIC_PASSWORD", "KIBANA_SYSTEM_PASSWORD", "NEWSFLOW_ES_PASSWORD", "REDIS_PASSWORD"):
        assert f"{name}=" in body
        assert f"${{{name}:?" in (ROOT / "docker-compose.yml").read_text("utf-8")
    assert "umask 077" in body and "/dev/urandom" in body
    assert "deploy/docker/secrets.env" in (ROOT / ".gitignore").read_text("utf-8").splitlines()
    assert "deploy/docker/secrets.env" in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    make = (ROOT / "Makefile").read_text("utf-8")
    assert "deploy/docker/secrets.sh" in make and "--env-file deploy/docker/secrets.env" in make


def test_no_secret_is_interpolated_into_a_command_line() -> None:
    secrets = ("PASSWORD", "API_KEY", "REDISCLI_AUTH", "BASIC_AUTH")
    for name, service in SERVICES.items():
        command = " ".join(service.get("command") or []) + " ".join(
            service["healthcheck"]["test"] if "healthcheck" in service else []
        )
        for secret in secrets:
            assert not re.search(r"\$\{[A-Z_]*" + secret, command), f"{name}: {secret} on a command line"


def test_flower_runs_our_app_under_a_profile_with_auth_from_the_environment() -> None:
    flower = SERVICES["flower"]
    assert flower["profiles"] == ["monitoring"]
    assert "shared.flower_app" in flower["command"] and "flower" in flower["command"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("admin:${FLOWER_PASSWORD:?")
    assert not any("auth" in arg for arg in flower["command"])


# --- setup and the app services -------------------------------------------------------


def test_setup_secures_elasticsearch_then_installs_the_index_layout() -> None:
    setup = SERVICES["setup"]
    assert setup["restart"] == "no"
    assert setup["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert setup["environment"]["ELASTICSEARCH_USERNAME"] == "elastic"
    (script,) = setup["command"]
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} must be executable"
    body = path.read_text("utf-8")
    assert "deploy/docker/security.py" in body and "python -m services.indexer setup" in body
    assert body.index("security.py") < body.index("services.indexer setup")


def test_kibana_setup_imports_the_saved_objects_once_kibana_answers() -> None:
    kibana_setup = SERVICES["kibana-setup"]
    assert kibana_setup["restart"] == "no"
    assert kibana_setup["command"] == ["deploy/kibana/import.sh"]
    assert kibana_setup["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert kibana_setup["environment"]["KIBANA_URL"] == "${KIBANA_URL:-http://kibana:5601}"
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
        assert env["ELASTICSEARCH_API_KEY"] is None
        assert env["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    for name in APP_SERVICES:  # the services log in as the least-privileged `newsflow` user
        env = SERVICES[name]["environment"]
        assert env["ELASTICSEARCH_USERNAME"] == "${ELASTICSEARCH_USERNAME:-newsflow}"
        assert env["ELASTICSEARCH_PASSWORD"].startswith("${NEWSFLOW_ES_PASSWORD:?")
        assert env["METRICS_PORT"] == "${METRICS_PORT:-9100}"


def test_app_environment_names_are_real_settings() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    import_script = (ROOT / "deploy" / "kibana" / "import.sh").read_text("utf-8")
    setup_script = (ROOT / "deploy" / "docker" / "security.py").read_text("utf-8")
    for name in [*APP_SERVICES, "setup", "kibana-setup"]:
        for variable in SERVICES[name]["environment"]:
            if variable.startswith("KIBANA_") and name != "setup":
                assert variable in import_script, f"{variable} is not read by import.sh"
            elif variable in {"KIBANA_SYSTEM_PASSWORD", "NEWSFLOW_ES_PASSWORD"}:
                assert variable in setup_script, f"{variable} is not read by security.py"
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
        bare = re.sub(r"\$\$[A-Z_]+", "", re.sub(r"\$\{[^}]*\}", "", text))  # $$VAR: the container's shell
        assert "$" not in bare, f"{path.name}: a bare $ would be interpolated"


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
    needed = ["shared", "services", "deploy", "deploy/kibana", "deploy/docker"]
    for path in [*needed, "pyproject.toml", "constraints.txt"]:
        assert path not in ignored, f".dockerignore drops {path}, which the image needs"
    for path in copied - {"README.md*"}:
        assert (ROOT / path).exists(), f"COPY {path}: no such file"


# --- the compose loader itself ------------------------------------------------------------
# composecheck (deploy/local/composecheck, built by deploy/local/tools.sh) is compose-go, the
# loader inside Docker Compose v2: schema validation against the Compose Specification,
# interpolation and merging, as `docker compose config` does them, without a Docker engine.

SECRETS = {
    "ELASTIC_PASSWORD": "e1",
    "KIBANA_SYSTEM_PASSWORD": "k1",
    "NEWSFLOW_ES_PASSWORD": "n1",
    "REDIS_PASSWORD": "r1",
    "FLOWER_PASSWORD": "f1",
}


def _composecheck() -> str:
    path = Path(os.environ.get("NEWSFLOW_COMPOSECHECK", ROOT / ".cache" / "tools" / "bin" / "composecheck"))
    if not path.exists():
        pytest.fail(f"{path} is missing: run deploy/local/tools.sh (make tools) to build it")
    return str(path)


def _render(
    tmp_path: Path, *args: str, secrets: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(
        "".join(f"{k}={v}\n" for k, v in (SECRETS if secrets is None else secrets).items())
    )
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [_composecheck(), "--env-file", str(VERSIONS_ENV), "--env-file", str(secrets_file), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "files",
    [["-f", "docker-compose.yml", "-f", "compose.override.yml"], ["-f", "docker-compose.yml"]],
    ids=["with-override", "production"],
)
def test_compose_loader_validates_and_renders_the_stack(tmp_path: Path, files: list[str]) -> None:
    result = _render(tmp_path, *files, "--profile", "monitoring")
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    rendered = json.loads(result.stdout)
    version = env_file(VERSIONS_ENV)["ELASTICSEARCH_VERSION"]
    assert rendered["services"]["kibana"]["image"].endswith(f":{version}")
    assert (
        set(APP_SERVICES) | {"flower", "source-health", "setup", "kibana-setup"}
        <= rendered["services"].keys()
    )
    assert "requirepass r1" in rendered["configs"]["redis_conf"]["content"]
    for name in ("kibana", "elasticsearch", "redis"):
        (port,) = rendered["services"][name]["ports"]
        assert port["host_ip"] == "127.0.0.1", name


def test_flower_needs_its_profile(tmp_path: Path) -> None:
    result = _render(tmp_path, "-f", "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    assert "flower" not in json.loads(result.stdout)["services"]


def test_compose_refuses_to_run_without_the_version_or_the_secrets(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    no_version = subprocess.run(
        [_composecheck(), "-f", "docker-compose.yml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert no_version.returncode != 0 and not no_version.stdout.strip()
    assert "ELASTICSEARCH_VERSION" in no_version.stderr or "PASSWORD" in no_version.stderr
    no_secrets = _render(tmp_path, "-f", "docker-compose.yml", secrets={})
    assert no_secrets.returncode != 0 and "deploy/docker/secrets.sh" in no_secrets.stderr


def test_compose_loader_rejects_what_the_specification_does_not_allow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  redis:\n    image: redis:7\n    restart_policy: always\n")
    result = _render(tmp_path, "-f", str(broken))
    assert result.returncode != 0 and "restart_policy" in result.stderr
