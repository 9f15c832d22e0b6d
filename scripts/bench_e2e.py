"""End-to-end throughput: the real crawler, worker and indexer on a generated news site.

    make bench
    PYTHONPATH=. python scripts/bench_e2e.py [--articles 2000] [--workers 1,2] [--quick]

Starts its own Redis (port 6396) and Elasticsearch (port 9262) with ``deploy/local/redis.sh``
and ``elasticsearch.sh`` (never the shared test servers), serves ``tests.sitegen`` with
``--articles`` articles on 127.0.0.1, and prints, in one run on the same pages:

* the core count and load average (the figures mean little on a busy machine);
* extraction alone: ``trafilatura.bare_extraction`` as the worker's first path calls it, on a
  sample of the site's pages, one process and N processes, pages/s;
* the worker's pure path alone (``build_article``, no I/O), one process, pages/s;
* end to end, discovered -> searchable, pages/s with 1 and with 2 worker processes: real
  crawler, beat, worker and indexer processes, the source's politeness lifted
  (``rate_per_second``), from the first URL's ``discovered_at`` to the moment the last
  document is searchable; and ``ratio end-to-end/extraction: X.XX`` at the same process count;
* discovered -> searchable p50/p95 at a light load (ProcessUrl messages sent at 10 pages/s,
  each stamped with its discovery time, the document polled until a search finds it);
* the worker alone on a full queue with 1 and 2 processes (no indexer, Elasticsearch idle):
  how it scales where its cores are free of the rest of the stack;
* the indexer against a raw ``_bulk`` loop on the same node (``scripts/bench_indexer.py``);
* the peak RSS of each service process (``VmHWM``, parents and prefork children).

Figures are printed, never asserted. Which figures depend on work still landing is said in
the output (the ``notes`` block at the end).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch

from scripts import bench_indexer
from scripts.bench_worker import Sample, extraction_alone, pure_path
from services.worker.decode import decode_html
from shared.celery_app import create_app
from shared.clients import make_redis
from shared.keys import Keys
from shared.messages import ProcessUrl, TaskName
from shared.outcomes import read_counters
from shared.settings import Settings
from tests.service_processes import settings_env

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "deploy" / "local"
READY_TIMEOUT = 60.0

# The generated site, served from a child process (its handler sets TCP_NODELAY, so an
# answer never waits for the client's delayed ACK).
_SITE_CODE = """
import sys
from tests.sitegen.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


# --- servers and processes ---------------------------------------------------------------


def _sh(*args: object, timeout: float = 400) -> None:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed: {result.stderr.strip()[-800:]}")


@contextmanager
def own_servers(run_dir: Path, redis_port: int, es_port: int) -> Iterator[tuple[str, str]]:
    """Our own Redis and Elasticsearch for the run, stopped afterwards."""
    run_dir.mkdir(parents=True, exist_ok=True)
    _sh(LOCAL / "redis.sh", "start", run_dir, redis_port)
    try:
        _sh(LOCAL / "elasticsearch.sh", "start", es_port, timeout=600)
        es_state = Path(os.environ.get("NEWSFLOW_ES_STATE", "/var/tmp/newsflow-es")) / str(es_port)
        for name, pid_path in (
            ("redis", run_dir / f"redis-{redis_port}.pid"),
            ("elasticsearch", es_state / "es.pid"),
        ):
            pid = _pid_file(pid_path)
            if pid:
                SERVERS[name] = pid
        try:
            yield f"redis://127.0.0.1:{redis_port}/0", f"http://127.0.0.1:{es_port}"
        finally:
            _sh(LOCAL / "elasticsearch.sh", "stop", es_port)
    finally:
        _sh(LOCAL / "redis.sh", "stop", run_dir, redis_port)


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == pid:
                    found.append(int(entry.name))
    return found


def _peak_rss_mb(pid: int) -> float | None:
    """``VmHWM``: the process's peak resident set since it started."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _pss_mb(pid: int) -> float:
    """Proportional set size now: shared (copy-on-write) pages split between their users."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


_TICK = os.sysconf("SC_CLK_TCK")
# Server processes whose CPU a run also accounts for: name -> pid (Redis, Elasticsearch, site).
SERVERS: dict[str, int] = {}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 when it is gone)."""
    with suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    return 0.0


def service_cpu(service: Service) -> float:
    """CPU seconds of a service: its main process and its live children (prefork pool)."""
    return sum(_cpu_seconds(pid) for pid in [service.proc.pid, *_children(service.proc.pid)])


def _pid_file(path: Path) -> int | None:
    with suppress(OSError, ValueError):
        return int(path.read_text().strip())
    return None


def peak_rss(service: Service) -> list[tuple[str, float]]:
    """(role, MB) of a service's main process and each of its children (prefork pool), and
    ("PSS total", MB) of them all: what the service really costs, shared pages counted once."""
    rows = []
    pids = [service.proc.pid, *sorted(_children(service.proc.pid))]
    for i, pid in enumerate(pids):
        mb = _peak_rss_mb(pid)
        if mb is not None:
            rows.append(("main" if i == 0 else f"child {i}", mb))
    if len(pids) > 1:
        rows.append(("PSS total now", sum(_pss_mb(pid) for pid in pids)))
    return rows


def _stop(service: Service) -> None:
    if service.proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(service.proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            service.proc.wait(timeout=15)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(service.proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        service.proc.wait(timeout=10)


@contextmanager
def service(
    name: str, args: list[str], env: dict[str, str], log_dir: Path, ready: str | None
) -> Iterator[Service]:
    """A service process (own process group) logging to ``log_dir/name.log``; waits for the
    ``ready`` line in its log, and stops the whole group afterwards."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    svc = Service(name, proc, log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while ready and ready not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {READY_TIMEOUT:.0f}s; see {log}")
            time.sleep(0.1)
        yield svc
    finally:
        _stop(svc)


def celery_args(app: str, queue: str, node: str, concurrency: int, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queue, "-n", f"{node}@%h",
        "--loglevel", "INFO", "--concurrency", str(concurrency), "--without-mingle",
        "--without-gossip", *extra,
    ]  # fmt: skip


def worker_service(
    tag: str, workers: int, worker_args: list[str], env: dict[str, str], log_dir: Path
) -> AbstractContextManager[Service]:
    """The worker service with ``workers`` prefork processes, as each phase runs it."""
    args = celery_args("services.worker.tasks", "extract", f"bench-worker-{tag}", workers, worker_args)
    return service(f"{tag}-worker", args, env, log_dir, "ready.")


@contextmanager
def generated_site(articles: int, seed: int, log_dir: Path) -> Iterator[str]:
    log = log_dir / "site.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SITE_CODE, "--articles", str(articles), "--seed", str(seed)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=out,
            start_new_session=True,
        )
    svc = Service("site", proc, log)
    SERVERS["site"] = proc.pid
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"generated site did not start; see {log}")
        yield line
    finally:
        _stop(svc)


# --- what the run measures ---------------------------------------------------------------


def site_urls(base: str, count: int) -> list[str]:
    """Article URLs from the site's own news sitemaps (what the crawler will find)."""
    urls: list[str] = []
    with httpx.Client(timeout=30) as client:
        index = client.get(f"{base}/sitemap.xml").text
        for loc in _locs(index):
            if "/sitemaps/news-" in loc:
                urls.extend(_locs(client.get(loc).text))
    return urls[:count]


def _locs(xml: str) -> list[str]:
    return [part.split("</loc>", 1)[0].strip() for part in xml.split("<loc>")[1:]]


def fetch_sample(urls: list[str], size: int) -> list[Sample]:
    step = max(1, len(urls) // size)
    chosen = urls[::step][:size]  # spread over the site: every template, section and length
    with httpx.Client(timeout=30) as client:
        return [Sample(url, client.get(url).content) for url in chosen]


def _extract_many(items: list[tuple[str, str]]) -> int:
    for html, url in items:
        extraction_alone(html, url)
    return len(items)


def extraction_rate(samples: list[Sample], processes: int) -> float:
    """Wall-clock pages/s of extraction alone over the sample, in ``processes`` processes."""
    items = [(decode_html(s.body, None), s.url) for s in samples]
    _extract_many(items[:5])  # warm-up
    if processes == 1:
        start = time.perf_counter()
        _extract_many(items)
        return len(items) / (time.perf_counter() - start)
    chunks = [items[i::processes] for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_extract_many, [c[:3] for c in chunks])  # warm each child
        start = time.perf_counter()
        done = sum(pool.map(_extract_many, chunks))
        return done / (time.perf_counter() - start)


def extraction_cpu_rate(samples: list[Sample]) -> float:
    """CPU-time pages/s of extraction alone, one process (steadier than wall time when busy)."""
    items = [(decode_html(s.body, None), s.url) for s in samples]
    start = time.process_time()
    _extract_many(items)
    return len(items) / (time.process_time() - start)


def pure_rates(samples: list[Sample]) -> tuple[float, float]:
    """(wall, CPU) pages/s of the worker's pure path over the sample, one process."""
    for s in samples[:5]:
        pure_path(s)
    wall, cpu = time.perf_counter(), time.process_time()
    for s in samples:
        pure_path(s)
    return len(samples) / (time.perf_counter() - wall), len(samples) / (time.process_time() - cpu)


@dataclass
class RunResult:
    label: str
    expected: int
    searchable: int = 0
    seconds: float = 0.0  # first discovered -> last searchable
    rate: float = 0.0
    worker_span_rate: float | None = None  # docs / (last indexed_at - first fetched_at)
    discovery_seconds: float | None = None  # services started -> first discovered_at
    rss: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU milliseconds per searchable document
    counters: dict[str, int] = field(default_factory=dict)
    note: str = ""


def _settings(redis_url: str, es_url: str, prefix: str, run_dir: Path, base: str, **extra: Any) -> Settings:
    sources = run_dir / f"{prefix}-sources.yaml"
    source = {"id": "gen", "name": "Generated Times", "home_url": base + "/", "rate_per_second": 1000}
    sources.write_text(json.dumps({"sources": [source]}))
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "elasticsearch_url": es_url,
        "redis_prefix": prefix,
        "index_prefix": prefix,
        "sources_file": sources,
        "allowed_private_hosts": ["127.0.0.1", "localhost"],
        "poll_tick_seconds": 1.0,
        "poll_min_seconds": 30.0,
        "poll_max_seconds": 60.0,
        "host_rate_per_second": 1000.0,
        "log_format": "json",
        "log_level": "WARNING",
        "extract_queue_max": 100_000,
    }
    return Settings(**(values | extra))


def _es(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=30)


def _count(es: Elasticsearch, prefix: str) -> int:
    result = es.options(ignore_status=404).count(index=f"{prefix}-*", allow_no_indices=True)
    return int(result.get("count", 0))


def _span(es: Elasticsearch, prefix: str) -> dict[str, float | None]:
    aggs = {
        name: {agg: {"field": fld}}
        for name, agg, fld in (
            ("first_discovered", "min", "discovered_at"),
            ("first_fetched", "min", "fetched_at"),
            ("last_indexed", "max", "indexed_at"),
        )
    }
    es.indices.refresh(index=f"{prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    found = es.search(index=f"{prefix}-*", size=0, aggs=aggs, allow_no_indices=True)["aggregations"]
    return {
        name: (found[name]["value"] / 1000 if found[name]["value"] is not None else None) for name in aggs
    }


def _cleanup(es: Elasticsearch, redis_url: str, prefix: str) -> None:
    with suppress(Exception):
        es.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
    with suppress(Exception):
        r = make_redis(Settings(redis_url=redis_url))
        batch = list(r.scan_iter(f"{prefix}:*", count=5000))
        for i in range(0, len(batch), 1000):  # kombu's keys too: they carry the prefix
            r.delete(*batch[i : i + 1000])


def run_pipeline(
    label: str,
    settings: Settings,
    expected: int,
    log_dir: Path,
    *,
    workers: int,
    worker_args: list[str],
    timeout: float,
    stall: float,
) -> RunResult:
    """Crawler, beat, worker and indexer on the site until every expected article is
    searchable (or nothing moves for ``stall`` seconds, or ``timeout``)."""
    env = settings_env(settings) | {"LOG_LEVEL": "INFO"}
    es = _es(settings.elasticsearch_url)
    result = RunResult(label, expected)
    tag = settings.redis_prefix
    with ExitStack() as stack:
        indexer = stack.enter_context(
            service(
                f"{tag}-indexer",
                [sys.executable, "-m", "services.indexer", "run"],
                env,
                log_dir,
                "indexer_ready",
            )
        )
        worker = stack.enter_context(worker_service(tag, workers, worker_args, env, log_dir))
        started = time.time()
        crawler = stack.enter_context(
            service(
                f"{tag}-crawler",
                celery_args("services.crawler.tasks", "crawl", f"bench-crawler-{tag}", 1, []),
                env,
                log_dir,
                "ready.",
            )
        )
        beat_schedule = log_dir / f"{tag}-beat-schedule"
        beat = stack.enter_context(
            service(
                f"{tag}-beat",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "services.crawler.tasks",
                    "beat",
                    "--schedule",
                    str(beat_schedule),
                ],
                env,
                log_dir,
                "beat: Starting",
            )
        )
        services = {"crawler": crawler, "beat": beat, "worker": worker, "indexer": indexer}
        # CPU from here on: start-up (imports) is not per-document work
        cpu_before = {name: service_cpu(svc) for name, svc in services.items()}
        cpu_before |= {name: _cpu_seconds(pid) for name, pid in SERVERS.items()}
        deadline = started + timeout
        last_count, last_change = 0, time.time()
        done_at = None
        while time.time() < deadline:
            count = _count(es, settings.index_prefix)
            now = time.time()
            if count != last_count:
                last_count, last_change = count, now
            if count >= expected:
                done_at = now
                break
            if count and now - last_change > stall:
                result.note = f"stalled: no new document for {stall:.0f}s"
                break
            time.sleep(0.25)
        else:
            result.note = f"timed out after {timeout:.0f}s"
        cpu_after = {name: service_cpu(svc) for name, svc in services.items()}
        cpu_after |= {name: _cpu_seconds(pid) for name, pid in SERVERS.items()}
        for name, svc in services.items():
            result.rss[name] = peak_rss(svc)
        if last_count:
            result.cpu_ms = {
                name: (cpu_after[name] - cpu_before[name]) * 1000 / last_count for name in cpu_after
            }
        result.counters = {k: v for k, v in read_counters(make_redis(settings), Keys(tag)).items() if v}
    result.searchable = last_count
    span = _span(es, settings.index_prefix)
    finished = done_at or last_change
    first = span["first_discovered"]
    if first is None:
        first = started
        result.note += " (documents carry no discovered_at: timed from the crawler's start)"
    result.discovery_seconds = first - started
    result.seconds = finished - first
    result.rate = result.searchable / result.seconds if result.seconds > 0 else 0.0
    if span["first_fetched"] is not None and span["last_indexed"] is not None:
        result.worker_span_rate = result.searchable / max(span["last_indexed"] - span["first_fetched"], 1e-3)
    return result


@dataclass
class LightLoad:
    sent: int
    found: int
    p50: float
    p95: float
    worst: float


def run_light_load(
    settings: Settings,
    urls: list[str],
    log_dir: Path,
    *,
    rate: float,
    seconds: float,
    workers: int,
    worker_args: list[str],
) -> LightLoad:
    """ProcessUrl messages at ``rate`` per second, each stamped with its discovery time; the
    latency of each is the moment a search first finds its document."""
    env = settings_env(settings) | {"LOG_LEVEL": "INFO"}
    es = _es(settings.elasticsearch_url)
    tag = settings.redis_prefix
    n = min(len(urls), int(rate * seconds))
    sender = create_app("bench-sender", settings)
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    with ExitStack() as stack:
        stack.enter_context(
            service(
                f"{tag}-indexer",
                [sys.executable, "-m", "services.indexer", "run"],
                env,
                log_dir,
                "indexer_ready",
            )
        )
        stack.enter_context(worker_service(tag, workers, worker_args, env, log_dir))
        start = time.time()
        next_send = start
        i = 0
        deadline = start + seconds + 60
        while time.time() < deadline and (i < n or len(seen_at) < len(sent_at)):
            now = time.time()
            while i < n and now >= next_send:
                url = urls[i]
                message = ProcessUrl(url=url, source_id="gen", discovered_at=datetime.fromtimestamp(now, UTC))
                sender.send_task(TaskName.PROCESS_URL, kwargs=message.model_dump(mode="json"))
                sent_at[url] = now
                i += 1
                next_send += 1 / rate
            hits = es.options(ignore_status=404).search(
                index=f"{settings.index_prefix}-*", size=n, source=["url"], allow_no_indices=True
            )
            found = time.time()
            for hit in hits.get("hits", {}).get("hits", []):
                seen_at.setdefault(hit["_source"]["url"], found)
            time.sleep(0.05)
    lags = sorted(seen_at[u] - sent_at[u] for u in seen_at if u in sent_at)
    if not lags:
        return LightLoad(len(sent_at), 0, float("nan"), float("nan"), float("nan"))
    return LightLoad(
        len(sent_at),
        len(lags),
        statistics.median(lags),
        lags[min(len(lags) - 1, int(0.95 * len(lags)))],
        lags[-1],
    )


def run_worker_scaling(
    settings: Settings, urls: list[str], log_dir: Path, *, workers: int, worker_args: list[str]
) -> tuple[int, float]:
    """The worker alone on a full queue: ``len(urls)`` ProcessUrl messages published at once,
    then a worker with ``workers`` processes until all are extracted. No indexer runs and
    Elasticsearch idles (the documents wait in the index stream), so this is how the worker
    scales where its cores are free of the rest of the stack. Returns (extracted, pages/s)."""
    env = settings_env(settings) | {"LOG_LEVEL": "INFO"}
    tag = settings.redis_prefix
    r = make_redis(settings)
    keys = Keys(tag)
    sender = create_app("bench-sender", settings)
    with sender.producer_or_acquire() as producer, producer.batch(max_size=1000):
        for url in urls:
            message = ProcessUrl(url=url, source_id="gen", discovered_at=datetime.now(UTC))
            sender.send_task(TaskName.PROCESS_URL, kwargs=message.model_dump(mode="json"), producer=producer)

    def finished() -> int:
        return sum(v for k, v in read_counters(r, keys).items() if k.startswith("extract:"))

    with worker_service(tag, workers, worker_args, env, log_dir):
        start = time.time()
        deadline = start + 120
        done = 0
        while time.time() < deadline and done < len(urls):
            time.sleep(0.1)
            done = finished()
        return done, done / (time.time() - start)


# --- the report --------------------------------------------------------------------------


def _rss_line(rss: dict[str, list[tuple[str, float]]]) -> list[str]:
    lines = []
    for name, rows in rss.items():
        parts = ", ".join(f"{role} {mb:.0f}" for role, mb in rows) or "gone"
        lines.append(f"    {name:<8} {parts}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=int, default=300, help="pages timed in-process")
    parser.add_argument("--workers", default="1,2", help="worker process counts to run end to end")
    parser.add_argument("--worker-args", default="--pool prefork -O fair", help="extra celery worker args")
    parser.add_argument("--light-rate", type=float, default=10.0)
    parser.add_argument("--light-seconds", type=float, default=20.0)
    parser.add_argument("--index-docs", type=int, default=3000)
    parser.add_argument("--redis-port", type=int, default=6396)
    parser.add_argument("--es-port", type=int, default=9262)
    parser.add_argument("--run-timeout", type=float, default=240.0, help="seconds per end-to-end run")
    parser.add_argument("--stall", type=float, default=30.0)
    parser.add_argument("--run-dir", type=Path, default=REPO / "run" / "bench")
    parser.add_argument("--scaling-pages", type=int, default=600, help="pages per worker-alone run")
    parser.add_argument("--skip", default="", help="comma list of: pure,e2e,light,scaling,indexer,crawler")
    parser.add_argument("--quick", action="store_true", help="300 articles, small samples (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.articles, args.sample, args.light_seconds, args.index_docs = 300, 60, 8, 1000
        args.scaling_pages = 200
    skip = set(filter(None, args.skip.split(",")))
    counts = [int(c) for c in args.workers.split(",") if c]
    worker_args = args.worker_args.split()
    log_dir = args.run_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    began = time.time()
    load = os.getloadavg()
    print(
        f"bench_e2e: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )

    f = Figures()

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        """A failed phase is reported and the run goes on: the other figures still print."""
        started = time.time()
        try:
            yield
        except Exception as exc:  # a benchmark reports, it does not stop at the first error
            f.errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
            print(f"[{name}] failed: {exc}", flush=True)
        finally:
            print(f"[{name}] {time.time() - started:.0f}s", flush=True)

    with ExitStack() as stack:
        base = stack.enter_context(generated_site(args.articles, args.seed, log_dir))
        urls = site_urls(base, args.articles)
        print(f"generated site: {len(urls)} articles at {base}", flush=True)

        if "pure" not in skip:
            with phase("in-process"):
                samples = fetch_sample(urls, args.sample)
                f.sample = len(samples)
                for processes in sorted({1, *counts}):
                    f.extraction[processes] = extraction_rate(samples, processes)
                    print(
                        f"  extraction alone, {processes} process(es): {f.extraction[processes]:.1f} pages/s"
                    )
                f.extraction_cpu = extraction_cpu_rate(samples)
                f.pure_wall, f.pure_cpu = pure_rates(samples)
                print(f"  pure path, 1 process: {f.pure_wall:.1f} pages/s", flush=True)

        servers: tuple[str, str] | None = None
        if not skip >= {"e2e", "light", "scaling", "indexer", "crawler"}:
            with phase("own Redis and Elasticsearch"):
                servers = stack.enter_context(own_servers(args.run_dir, args.redis_port, args.es_port))
        if servers is not None:
            redis_url, es_url = servers
            es = _es(es_url)
            for workers in counts if "e2e" not in skip else []:
                prefix = f"b{tag}w{workers}"
                with phase(f"end to end, {workers} worker process(es)"):
                    settings = _settings(redis_url, es_url, prefix, args.run_dir, base)
                    try:
                        result = run_pipeline(
                            f"{workers} worker process{'es' if workers > 1 else ''}",
                            settings,
                            len(urls),
                            log_dir,
                            workers=workers,
                            worker_args=worker_args,
                            timeout=args.run_timeout,
                            stall=args.stall,
                        )
                    finally:
                        _cleanup(es, redis_url, prefix)
                    f.runs.append((workers, result))
                    print(
                        f"  {result.searchable}/{result.expected} searchable in {result.seconds:.1f}s, "
                        f"{result.rate:.1f} pages/s {result.note}",
                        flush=True,
                    )
            if "light" not in skip:
                with phase("light load"):
                    prefix = f"b{tag}light"
                    settings = _settings(redis_url, es_url, prefix, args.run_dir, base)
                    try:
                        f.light = run_light_load(
                            settings,
                            urls,
                            log_dir,
                            rate=args.light_rate,
                            seconds=args.light_seconds,
                            workers=max(counts),
                            worker_args=worker_args,
                        )
                    finally:
                        _cleanup(es, redis_url, prefix)
            if "scaling" not in skip:
                for workers in sorted({1, *counts}):
                    with phase(f"worker alone, {workers} process(es)"):
                        prefix = f"b{tag}s{workers}"
                        settings = _settings(redis_url, es_url, prefix, args.run_dir, base)
                        try:
                            f.scaling[workers] = run_worker_scaling(
                                settings,
                                urls[: args.scaling_pages],
                                log_dir,
                                workers=workers,
                                worker_args=worker_args,
                            )
                        finally:
                            _cleanup(es, redis_url, prefix)
                        print(f"  {f.scaling[workers][1]:.1f} pages/s", flush=True)
            if "indexer" not in skip:
                with phase("indexer vs raw _bulk"):
                    prefix = f"b{tag}idx"
                    settings = Settings(
                        redis_url=redis_url,
                        elasticsearch_url=es_url,
                        redis_prefix=prefix,
                        index_prefix=prefix,
                        log_level="WARNING",
                    )
                    f.indexer = bench_indexer.measure(
                        settings, args.index_docs, es_process=SERVERS.get("elasticsearch")
                    )
            if "crawler" not in skip:
                with phase("crawler overhead"):
                    f.crawler = crawler_bench(redis_url, quick=args.quick)

    _report(args, f, time.time() - began)


def crawler_bench(redis_url: str, *, quick: bool) -> str:
    """scripts/bench_crawler.py against our Redis: seen-set memory and CPU per discovered URL."""
    sizes = ["--urls", "20000", "--rounds", "2"] if quick else ["--urls", "50000", "--rounds", "3"]
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_crawler.py"), "--redis-url", redis_url, *sizes],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout.strip()


@dataclass
class Figures:
    sample: int = 0
    extraction: dict[int, float] = field(default_factory=dict)  # processes -> wall pages/s
    extraction_cpu: float = 0.0
    pure_wall: float = 0.0
    pure_cpu: float = 0.0
    runs: list[tuple[int, RunResult]] = field(default_factory=list)
    light: LightLoad | None = None
    scaling: dict[int, tuple[int, float]] = field(default_factory=dict)  # workers -> (done, pages/s)
    indexer: bench_indexer.IndexerFigures | None = None
    crawler: str = ""
    errors: list[str] = field(default_factory=list)


def extraction_shares(extraction_ms: float, cpu_ms: dict[str, float]) -> tuple[float, float]:
    """Extraction's share of the whole stack's CPU per document: as measured, and if the worker
    did nothing but extract (everything else in the stack as measured).

    Where every core is busy, end to end over extraction alone cannot exceed this share: the
    second figure is the ratio's ceiling on this machine whatever the worker does beyond
    extraction."""
    return extraction_ms / sum(cpu_ms.values()), extraction_ms / (extraction_ms + rest_of_stack_ms(cpu_ms))


def rest_of_stack_ms(cpu_ms: dict[str, float]) -> float:
    """CPU ms per document of every process but the worker."""
    return sum(ms for name, ms in cpu_ms.items() if name != "worker")


def _plural(n: int) -> str:
    return f"{n} process{'es' if n > 1 else ''}"


def _report(args: argparse.Namespace, f: Figures, elapsed: float) -> None:
    out: list[str] = [
        "",
        f"=== bench_e2e summary ({args.articles} generated articles, {os.cpu_count()} cores) ===",
    ]
    if f.extraction:
        out.append(f"in-process on {f.sample} pages spread over the site (wall clock; CPU time in brackets):")
        for processes, rate in sorted(f.extraction.items()):
            cpu = f" ({f.extraction_cpu:.1f})" if processes == 1 else ""
            out.append(f"  extraction alone, {_plural(processes)}: {rate:.1f} pages/s{cpu}")
        if f.pure_wall:
            out.append(
                f"  worker pure path (build_article), 1 process: {f.pure_wall:.1f} pages/s ({f.pure_cpu:.1f})"
            )
            out.append(
                f"  pure path time / extraction time: {f.extraction[1] / f.pure_wall:.2f} "
                f"({f.extraction_cpu / f.pure_cpu:.2f} by CPU time)"
            )
    for workers, result in f.runs:
        out.append(f"end to end, {result.label}: {result.rate:.1f} pages/s discovered -> searchable")
        out.append(
            f"    {result.searchable}/{result.expected} in {result.seconds:.1f}s; first discovery "
            f"{result.discovery_seconds or 0:.1f}s after start; fetched -> indexed span "
            f"{result.worker_span_rate or 0:.1f} pages/s {result.note}"
        )
        if f.extraction.get(workers):
            out.append(
                f"ratio end-to-end/extraction: {result.rate / f.extraction[workers]:.2f}  ({_plural(workers)})"
            )
    by_count = dict(f.runs)
    if 1 in by_count and 2 in by_count and by_count[1].rate:
        out.append(f"scaling, 2 worker processes / 1: {by_count[2].rate / by_count[1].rate:.2f}")
    if f.scaling:
        parts = ", ".join(
            f"{w} process{'es' if w > 1 else ''} {rate:.1f} pages/s ({done} pages)"
            for w, (done, rate) in sorted(f.scaling.items())
        )
        out.append(f"worker alone on a full queue (no indexer; Redis and the site also ran): {parts}")
        if 1 in f.scaling and 2 in f.scaling and f.scaling[1][1]:
            out.append(f"scaling, worker alone, 2 processes / 1: {f.scaling[2][1] / f.scaling[1][1]:.2f}")
    if f.light is not None:
        light = f.light
        out.append(
            f"discovered -> searchable at {args.light_rate:.0f} pages/s ({light.found}/{light.sent} found): "
            f"p50 {light.p50:.2f}s, p95 {light.p95:.2f}s, max {light.worst:.2f}s"
        )
    if f.indexer is not None:
        ix = f.indexer
        out.append(
            f"indexer vs raw _bulk, {ix.docs} docs, best of {ix.rounds}: raw {ix.raw:.0f} docs/s, "
            f"write_batch {ix.write_batch:.0f}, indexer process {ix.indexer:.0f} ({ix.indexer / ix.raw:.0%} of raw)"
        )
        out += ["  " + line for line in bench_indexer.cost_lines(ix)]
    for _, result in f.runs:
        if result.cpu_ms:
            parts = ", ".join(f"{name} {ms:.1f}" for name, ms in result.cpu_ms.items())
            out.append(
                f"CPU ms per document, {result.label}: {parts}; total {sum(result.cpu_ms.values()):.1f}"
            )
    for workers, result in f.runs:
        if result.cpu_ms and f.extraction_cpu and workers >= (os.cpu_count() or 1):
            extraction_ms = 1000 / f.extraction_cpu
            now, best = extraction_shares(extraction_ms, result.cpu_ms)
            out.append(
                f"extraction's share of the stack's CPU per document, {result.label}: {now:.2f}; "
                f"{best:.2f} if the worker did nothing but extract ({extraction_ms:.1f} ms of "
                f"extraction, {rest_of_stack_ms(result.cpu_ms):.1f} ms "
                "for the rest of the stack): the ceiling of the ratio with every core busy"
            )
    for _, result in f.runs:
        out.append(f"peak RSS (MB), run with {result.label}:")
        out.extend(_rss_line(result.rss))
    if f.crawler:
        out.append("crawler (scripts/bench_crawler.py on the same Redis):")
        out.extend(f"  {line}" for line in f.crawler.splitlines())
    load = os.getloadavg()
    out.append(f"cores: {os.cpu_count()}; load average at the end {load[0]:.2f}; bench took {elapsed:.0f}s")
    out.extend(f"FAILED {error}" for error in f.errors)
    out.extend(
        [
            "notes:",
            "  * end to end runs the processes the stack runs (crawler, beat, worker, indexer) on the same",
            "    cores as Redis, Elasticsearch and the site; figures depend on what else the machine runs.",
            "  * the generated pages carry a real news page's furniture (tests/sitegen/chrome.py), so",
            "    extraction costs about what it costs on real pages (docs/throughput.md).",
            "  * 'worker alone' runs the worker on a full queue with no indexer: its scaling where its",
            "    cores are free of Elasticsearch and the indexer (Redis and the site still run).",
            "  * the light load is sent by this script at a fixed rate (it plays the crawler), so its",
            "    latency is worker + indexer + refresh, not crawl scheduling.",
        ]
    )
    print("\n".join(out), flush=True)


if __name__ == "__main__":
    main()
