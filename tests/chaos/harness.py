"""One chaos scenario on the real stack: fresh Redis, fresh index prefix, the supervised services,
the generated site; inject the fault mid-run, wait for the drain, reconcile Elasticsearch.

Shared by every scenario of a run: one Elasticsearch node (its own port, stopped at the end),
the proxy in front of it (the services' ``ELASTICSEARCH_URL``), and the generated site.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from elasticsearch import Elasticsearch

from shared.settings import Settings
from tests.chaos.proxy import EsProxy
from tests.chaos.supervisor import REPO_ROOT, Supervisor
from tests.service_processes import settings_env
from tests.sitegen import GeneratedSite

LOCAL = REPO_ROOT / "deploy" / "local"
DRAIN_LIMIT = 60.0  # seconds from fault end to drained, the pass bound of issue 8
START_TIMEOUT = 120.0  # seconds for the run to reach the injection point before injecting anyway


@dataclass
class Env:
    """What a whole chaos run shares."""

    run_dir: Path
    redis_port: int
    es_port: int
    proxy: EsProxy
    site: GeneratedSite
    poison_site: GeneratedSite
    es_state: str
    poison_time_limit: int = 6
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    @property
    def es_url(self) -> str:
        return f"http://127.0.0.1:{self.es_port}"

    def es(self) -> Elasticsearch:
        return Elasticsearch(self.es_url, request_timeout=10, retry_on_timeout=False, max_retries=0)


@dataclass
class Ctx:
    """One scenario's live handles, passed to its fault injector."""

    env: Env
    sup: Supervisor
    site: GeneratedSite
    run_dir: Path
    redis_url: str
    fault_start: float = 0.0
    fault_end: float = 0.0
    baseline_bytes: int = 0  # Redis used_memory when the fault was injected
    notes: list[str] = field(default_factory=list)

    def redis_start(self) -> None:
        _sh(LOCAL / "redis.sh", "start", str(self.run_dir), str(self.env.redis_port), "--aof")

    def redis_pid(self) -> int:
        return int((self.run_dir / f"redis-{self.env.redis_port}.pid").read_text().strip())


@dataclass
class Scenario:
    number: int
    name: str
    inject: Callable[[Ctx], None]  # blocks until the fault is over; sets ctx.fault_end
    inject_at: float = 1 / 3  # share of expected articles indexed before injecting
    poison: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    # Redis may grow by at most this many documents' worth over its size at the fault
    # (each document: its mean JSON size in the index plus 1.2 KB of message envelope).
    memory_bound_docs: int | None = None


@dataclass
class Row:
    number: int
    name: str
    expected: int
    indexed: int = 0
    missing: int = 0
    duplicates: int = 0
    extra: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    drain: float | None = None  # None: not drained within the limit
    redis_peak_mb: float = 0.0
    memory_bound_mb: float | None = None
    poison_dead: bool | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def failures(self) -> list[str]:
        out = []
        if self.error:
            out.append(self.error)
        if self.missing:
            out.append(f"{self.missing} missing")
        if self.duplicates:
            out.append(f"{self.duplicates} duplicates")
        if self.drain is None:
            out.append(f"not drained {DRAIN_LIMIT:.0f}s after the fault")
        elif self.drain > DRAIN_LIMIT:
            out.append(f"drained after {self.drain:.0f}s > {DRAIN_LIMIT:.0f}s")
        if self.poison_dead is False:
            out.append("poison page not dead-lettered as poison")
        if self.memory_bound_mb is not None and self.redis_peak_mb > self.memory_bound_mb:
            out.append(f"Redis peak {self.redis_peak_mb:.1f} MB > bound {self.memory_bound_mb:.1f} MB")
        return out

    @property
    def passed(self) -> bool:
        return not self.failures


def _sh(*args: object, timeout: float = 300, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))}: {result.stderr.strip()[-500:]}")
    return result.stdout


def service_env(env: Env, scenario: Scenario, run_dir: Path, redis_url: str, prefix: str) -> dict[str, str]:
    sources = run_dir / "sources.yaml"
    site = env.poison_site if scenario.poison else env.site
    sources.write_text(
        json.dumps({"sources": [{"id": "gen", "name": "Generated Times", "home_url": site.base_url + "/"}]})
    )
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "elasticsearch_url": env.proxy.url,
        "elasticsearch_timeout": 10.0,
        "redis_prefix": prefix,
        "index_prefix": prefix,
        "sources_file": sources,
        "allowed_private_hosts": ["127.0.0.1", "localhost"],
        "poll_tick_seconds": 1.0,
        "poll_min_seconds": 3.0,
        "poll_max_seconds": 10.0,
        "host_rate_per_second": 200.0,
        "fetch_connect_timeout": 2.0,
        "fetch_read_timeout": 2.0,
        "fetch_total_timeout": 5.0,
        "bulk_flush_seconds": 0.5,
        "bulk_max_docs": 100,
        "log_format": "json",
        "log_level": "INFO",
    }
    if scenario.poison:
        # No soft limit: the hard limit's SIGKILL is the point (see tests/sitegen/poison.py).
        values |= {"task_soft_time_limit": 0, "task_time_limit": env.poison_time_limit}
    out = settings_env(Settings(**values))
    out |= {"CRAWLER_CONCURRENCY": "1", "WORKER_CONCURRENCY": "2"}
    out |= scenario.extra_env
    return out


def dead_letters(r: redis.Redis, prefix: str) -> list[dict[str, Any]]:
    """Every dead-letter entry under the prefix (each a dict with ``reason`` and the message's
    ``kwargs``): through the registry (``shared.deadletters``) where it exists, else the older
    JSON list (``shared.deadletter``)."""
    from shared.keys import Keys

    try:
        from shared.deadletters import DeadLetters  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raws = r.lrange(Keys(prefix).dead_letters, 0, -1)  # type: ignore[attr-defined,unused-ignore]
        return [json.loads(raw) for raw in raws]
    return list(DeadLetters(r, Keys(prefix)).list(limit=1_000_000))


def _urls_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {
            u for k, v in value.items() for u in ({v} if k == "url" and isinstance(v, str) else _urls_in(v))
        }
    if isinstance(value, list):
        return {u for v in value for u in _urls_in(v)}
    return set()


def indexed_docs(es: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    pattern = f"{prefix}-*"
    es.options(ignore_status=404).indices.refresh(index=pattern, allow_no_indices=True)
    resp = es.options(ignore_status=404).search(
        index=pattern,
        size=10_000,
        source=["canonical_url", "url", "title"],
        query={"match_all": {}},
        allow_no_indices=True,
    )
    return [h["_source"] | {"_index": h["_index"]} for h in resp.get("hits", {}).get("hits", [])]


def mean_doc_bytes(es: Elasticsearch, prefix: str) -> int:
    resp = es.search(index=f"{prefix}-*", size=100, query={"match_all": {}}, allow_no_indices=True)
    sizes = [len(json.dumps(h["_source"])) for h in resp["hits"]["hits"]]
    return int(sum(sizes) / len(sizes)) if sizes else 5000


def indexed_count(es: Elasticsearch, prefix: str) -> int:
    pattern = f"{prefix}-*"
    es.options(ignore_status=404).indices.refresh(index=pattern, allow_no_indices=True)
    return int(es.options(ignore_status=404).count(index=pattern, allow_no_indices=True).get("count", 0))


def _redis_used(url: str) -> int | None:
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            info = client.info("memory")
            return max(int(info["used_memory"]), int(info.get("used_memory_peak", 0)))
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return None


def run_scenario(env: Env, scenario: Scenario) -> Row:
    site = env.poison_site if scenario.poison else env.site
    expected = {e.canonical_url: e for e in site.expected_articles()}
    row = Row(scenario.number, scenario.name, len(expected))
    began = time.monotonic()
    run_dir = env.run_dir / f"s{scenario.number:02d}-{scenario.name}"
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh Redis must not replay an old AOF
    run_dir.mkdir(parents=True)
    redis_url = f"redis://127.0.0.1:{env.redis_port}/0"
    prefix = f"chaos-{env.tag}-s{scenario.number:02d}"
    services = service_env(env, scenario, run_dir, redis_url, prefix)
    sup = Supervisor(run_dir, services)
    ctx = Ctx(env, sup, site, run_dir, redis_url)
    es = env.es()
    peak = 0
    try:
        ctx.redis_start()
        setup_env = services | {"ELASTICSEARCH_URL": env.es_url}
        _sh(REPO_ROOT / ".venv" / "bin" / "python", "-m", "services.indexer", "setup", env=setup_env)
        site.faults.clear()
        env.proxy.set_mode("pass")
        sup.start()
        injector: threading.Thread | None = None
        failure: list[BaseException] = []

        def inject() -> None:
            try:
                ctx.fault_start = time.time()
                scenario.inject(ctx)
            except BaseException as exc:  # reported in the row
                failure.append(exc)
            finally:
                ctx.fault_end = ctx.fault_end or time.time()

        started = time.time()
        deadline = None
        while True:
            used = _redis_used(redis_url)
            peak = max(peak, used or 0)
            try:
                count = indexed_count(es, prefix)
            except Exception:  # Elasticsearch stopped on purpose, or briefly busy
                count = -1
            if injector is None and (
                count >= scenario.inject_at * len(expected) or time.time() - started > START_TIMEOUT
            ):
                if count < scenario.inject_at * len(expected):
                    ctx.notes.append("injected before the injection point was reached")
                ctx.baseline_bytes = used or 0
                injector = threading.Thread(target=inject, name="inject", daemon=True)
                injector.start()
            if injector is not None and not injector.is_alive():
                if deadline is None:
                    deadline = ctx.fault_end + DRAIN_LIMIT
                if count >= len(expected) and _drained(es, prefix, expected, site, r_url=redis_url, row=row):
                    row.drain = max(0.0, time.time() - ctx.fault_end)
                    break
                if time.time() > deadline:
                    break
            time.sleep(1.0)
        if failure:
            row.error = f"fault injection failed: {type(failure[0]).__name__}: {failure[0]}"[:200]
        time.sleep(2.0)  # anything still in flight may land now: counted as a duplicate if so
        _reconcile(es, prefix, expected, site, redis_url, row)
        if scenario.memory_bound_docs is not None:
            per_doc = mean_doc_bytes(es, prefix) + 1200
            row.memory_bound_mb = (ctx.baseline_bytes + scenario.memory_bound_docs * per_doc) / 1e6
            row.notes.append(
                f"bound: {ctx.baseline_bytes / 1e6:.1f} MB at the fault + {scenario.memory_bound_docs} docs"
                f" x {per_doc / 1e3:.1f} KB; the whole site would be {len(expected) * per_doc / 1e6:.1f} MB"
            )
    except Exception as exc:
        row.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        row.redis_peak_mb = peak / 1e6
        row.notes += ctx.notes
        sup.shutdown(fast=True)
        site.faults.clear()
        env.proxy.on_bulk = None
        env.proxy.set_mode("pass")
        try:
            _sh(LOCAL / "redis.sh", "stop", str(run_dir), str(env.redis_port))
        except Exception as exc:
            row.notes.append(f"redis stop: {exc}")
        try:
            es.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
        except Exception as exc:
            row.notes.append(f"index cleanup: {type(exc).__name__}")
        es.close()
        row.seconds = time.monotonic() - began
    return row


def _drained(
    es: Elasticsearch, prefix: str, expected: dict[str, Any], site: GeneratedSite, *, r_url: str, row: Row
) -> bool:
    try:
        found = {d.get("canonical_url") for d in indexed_docs(es, prefix)}
    except Exception:
        return False
    if set(expected) - found:
        return False
    if site.poison_url is None:
        return True
    client = redis.Redis.from_url(r_url, decode_responses=True)
    try:
        return any(
            site.poison_url in _urls_in(d) and str(d.get("reason")) == "poison"
            for d in dead_letters(client, prefix)
        )
    finally:
        client.close()


def _reconcile(
    es: Elasticsearch, prefix: str, expected: dict[str, Any], site: GeneratedSite, r_url: str, row: Row
) -> None:
    docs = indexed_docs(es, prefix)
    per_url = Counter(d.get("canonical_url") for d in docs)
    row.indexed = sum(1 for u in expected if per_url[u])
    row.missing = len(expected) - row.indexed
    row.duplicates = sum(n - 1 for n in per_url.values() if n > 1)
    row.extra = sum(n for u, n in per_url.items() if u not in expected)
    client = redis.Redis.from_url(r_url, decode_responses=True)
    try:
        entries = dead_letters(client, prefix)
    finally:
        client.close()
    row.dead = Counter(str(e.get("reason")) for e in entries)
    if site.poison_url is not None:
        row.poison_dead = any(
            site.poison_url in _urls_in(e) and str(e.get("reason")) == "poison" for e in entries
        )
        poison_reasons = {str(e.get("reason")) for e in entries if site.poison_url in _urls_in(e)}
        if poison_reasons - {"poison"}:
            row.notes.append(f"poison page dead-lettered as {sorted(poison_reasons)}")
        tries = sum(1 for a in site.access_log.entries() if a.path == "/" + site.poison_url.split("/", 3)[3])
        row.notes.append(f"poison page fetched {tries}x")
    if row.missing:
        row.notes.append("missing e.g. " + ", ".join(sorted(set(expected) - set(per_url))[:2]))
