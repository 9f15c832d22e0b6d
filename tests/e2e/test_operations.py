"""Operations end to end: real services with metrics endpoints, a password-protected Redis,
credentials set for Elasticsearch, and the fixture news site on 127.0.0.1.

During the run every service's ``/metrics`` is scraped and its counters must move; afterwards
``newsflow status`` and the ``<prefix>-sources`` index must agree with what the run did, and no
captured log line may contain any secret the run set.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from shared.clients import make_elasticsearch, make_redis
from shared.settings import Settings
from tests.integration.crawler_support import write_sources
from tests.service_processes import REPO_ROOT, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

REDIS_PASSWORD = "rEd1s-pa55-" + os.urandom(6).hex()
ES_PASSWORD = "e5-pa55-" + os.urandom(6).hex()
NEWSFLOW = str(Path(sys.executable).parent / "newsflow")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def secured_redis(tmp_path: Path) -> Iterator[str]:
    """Our own redis-server with a password from its config file (ports 6395-6399 are ours)."""
    port = next(p for p in range(6395, 6400) if _port_free(p))
    conf = tmp_path / "redis.conf"
    conf.write_text(
        f'port {port}\nbind 127.0.0.1\nsave ""\nappendonly no\ndir {tmp_path}\nrequirepass {REDIS_PASSWORD}\n'
    )
    proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = make_redis(Settings(redis_url=url, redis_password=REDIS_PASSWORD))
    wait_for(lambda: _pings(client), timeout=10, what="secured redis")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _pings(client: Any) -> bool:
    with suppress(Exception):
        return bool(client.ping())
    return False


@pytest.fixture
def settings(make_settings: Any, tmp_path: Path, fixture_site: Any, secured_redis: str) -> Settings:
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "fixture", "name": "Fixture Times", "home_url": fixture_site.url("/")}],
    )
    return make_settings(
        redis_url=secured_redis,
        redis_password=REDIS_PASSWORD,
        # The test node runs without security and ignores credentials; the services still send
        # them, so they are in memory and would show up in any careless log line.
        elasticsearch_username="newsflow",
        elasticsearch_password=ES_PASSWORD,
        sources_file=sources,
        poll_tick_seconds=1.0,
        host_rate_per_second=20.0,
        fetch_read_timeout=2.0,
        fetch_total_timeout=5.0,
        bulk_flush_seconds=0.5,
        health_interval_seconds=1.0,
        metrics_dir=tmp_path / "metrics",
        log_format="json",
        log_level="DEBUG",
    )


@contextmanager
def _service(name: str, args: list[str], env: dict[str, str], logs: Path) -> Iterator[None]:
    log = (logs / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()


def _celery(app: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", app, *args]


def _scrape(port: int) -> dict[str, float]:
    """Sample name{labels} -> value from one /metrics page."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def _total(samples: dict[str, float], name: str, **labels: str) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in samples.items() if k.split("{", 1)[0] == name and all(w in k for w in wanted))


def _answers(port: int) -> bool:
    with suppress(OSError):
        _scrape(port)
        return True
    return False


def test_metrics_status_health_index_and_no_secret_in_any_log(
    settings: Settings, es_client: Any, fixture_site: Any, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    ports = {name: _free_port() for name in ("crawler", "beat", "worker", "indexer", "health")}
    base = settings_env(settings)

    def env(service: str) -> dict[str, str]:
        return {**base, "METRICS_PORT": str(ports[service]), "METRICS_BIND": "127.0.0.1"}

    # The index layout as the setup step installs it (templates, current index, sources index).
    subprocess.run(
        [sys.executable, "-m", "services.indexer", "setup"],
        cwd=REPO_ROOT,
        env=env("indexer"),
        check=True,
        capture_output=True,
    )
    expected = {a.canonical_url for a in fixture_site.articles}
    with ExitStack() as stack:
        node = f"ops{os.getpid()}"
        stack.enter_context(
            _service("indexer", [sys.executable, "-m", "services.indexer", "run"], env("indexer"), logs)
        )
        stack.enter_context(
            _service(
                "worker",
                _celery(
                    "services.worker.tasks",
                    "worker",
                    "-Q",
                    "extract",
                    "-n",
                    f"w{node}@%h",
                    "--concurrency",
                    "2",
                    "--without-mingle",
                    "--without-gossip",
                ),
                env("worker"),
                logs,
            )
        )
        stack.enter_context(
            _service(
                "crawler",
                _celery(
                    "services.crawler.tasks",
                    "worker",
                    "-Q",
                    "crawl",
                    "-n",
                    f"c{node}@%h",
                    "--concurrency",
                    "1",
                    "--without-mingle",
                    "--without-gossip",
                ),
                env("crawler"),
                logs,
            )
        )
        stack.enter_context(
            _service(
                "beat",
                _celery("services.crawler.tasks", "beat", "--schedule", str(tmp_path / "beat")),
                env("beat"),
                logs,
            )
        )
        stack.enter_context(_service("health", [NEWSFLOW, "health", "--every"], env("health"), logs))
        for name, port in ports.items():
            wait_for(lambda port=port: _answers(port), timeout=60, what=f"{name} metrics endpoint")
        before = {name: _scrape(port) for name, port in ports.items()}

        def indexed() -> set[str]:
            es_client.indices.refresh(index=f"{settings.index_prefix}-*", allow_no_indices=True)
            hits = es_client.search(index=settings.index_prefix, size=100, source_includes=["canonical_url"])
            return {h["_source"]["canonical_url"] for h in hits["hits"]["hits"]}

        wait_for(lambda: indexed() >= expected, timeout=180, interval=1, what="fixture articles indexed")

        # The indexer counts a bulk's documents when its main loop settles the bulk, a moment
        # after Elasticsearch has them: wait for the count, then check it did not overshoot.
        def index_created() -> float:
            return _total(_scrape(ports["indexer"]), "newsflow_items_total", stage="index", outcome="created")

        wait_for(lambda: index_created() >= len(expected), timeout=30, what="indexer's created count")
        after = {name: _scrape(port) for name, port in ports.items()}

        # Counters moved in every processing service, as the outcomes happened.
        moved = {
            "crawler": ("newsflow_items_total", {"stage": "crawl"}),
            "worker": ("newsflow_items_total", {"stage": "extract", "outcome": "extracted"}),
            "indexer": ("newsflow_items_total", {"stage": "index", "outcome": "created"}),
        }
        for name, (metric, labels) in moved.items():
            assert _total(after[name], metric, **labels) > _total(before[name], metric, **labels), name
        assert _total(after["indexer"], "newsflow_items_total", stage="index", outcome="created") == len(
            expected
        )
        assert _total(after["worker"], "celery_task_succeeded_total") > _total(
            before["worker"], "celery_task_succeeded_total"
        )
        steps = (
            ("crawler", "fetch"),
            ("worker", "fetch"),
            ("worker", "extract"),
            ("worker", "tag"),
            ("indexer", "bulk"),
        )
        for service, step in steps:  # the duration histograms filled as the work happened
            count = _total(after[service], "newsflow_step_duration_seconds_count", step=step)
            assert count > _total(before[service], "newsflow_step_duration_seconds_count", step=step), (
                service,
                step,
            )
        assert _total(after["crawler"], "celery_task_started_total") > 0
        # The singleton exporter carries the cluster gauges.
        assert 'celery_queue_length{queue_name="extract"}' in after["health"]
        assert "newsflow_dead_letters" in after["health"]
        assert 'newsflow_queue_oldest_age_seconds{queue_name="crawl"}' in after["health"]

        # The health index, written by the exporter, agrees with the run.
        index = f"{settings.index_prefix}-sources"

        def health_doc() -> dict[str, Any]:
            es_client.indices.refresh(index=index)
            found = es_client.options(ignore_status=404).get(index=index, id="fixture")
            return found.get("_source", {}) if found.get("found") else {}

        wait_for(lambda: health_doc().get("articles_total") == len(expected), timeout=30, what="health doc")
        doc = health_doc()
        assert doc["last_success_at"] and doc["last_article_at"] and doc["polls"] > 0
        assert doc["median_ingest_lag_seconds"] is not None and doc["usual_gap_seconds"] > 0
        # The fixture's newest article is from October 2025: far longer ago than its usual gap
        # between articles, so the source is flagged silent, as a real dead feed would be.
        assert doc["silent"] is True and doc["silent_seconds"] > 3 * doc["usual_gap_seconds"]

    # `newsflow status` (after the services stopped) shows the same numbers.
    status = subprocess.run(
        [NEWSFLOW, "status", "--json"], cwd=REPO_ROOT, env=base, capture_output=True, text=True, check=True
    )
    (logs / "status.log").write_text(status.stdout + status.stderr)
    reading = json.loads(status.stdout)
    assert reading["documents"] == len(expected)
    assert reading["counters"]["index:created"] == len(expected)
    (row,) = [r for r in reading["sources"] if r["source"] == "fixture"]
    assert row["articles_total"] == len(expected) and row["last_success_at"]
    table = subprocess.run(
        [NEWSFLOW, "status"], cwd=REPO_ROOT, env=base, capture_output=True, text=True, check=True
    )
    (logs / "status-table.log").write_text(table.stdout + table.stderr)
    assert re.search(r"^fixture\s", table.stdout, flags=re.M)

    # The secret-grep: nothing the run set as a secret appears in any captured output.
    captured = {p.name: p.read_text(errors="replace") for p in logs.iterdir()}
    assert sum(len(t) for t in captured.values()) > 10_000, "the services logged their run"
    for name, text in captured.items():
        for secret in (REDIS_PASSWORD, ES_PASSWORD):
            assert secret not in text, f"{name} logs a secret"
    es_client.options(ignore_status=404).indices.delete(index=index)
    with suppress(Exception):
        make_elasticsearch(settings).close()
