"""Prometheus metrics for every service process (the official ``prometheus_client``).

What each process exposes on ``METRICS_PORT`` (0: off), at ``/metrics``:

* ``newsflow_items_total{service,stage,outcome,reason}``: every outcome, counted where it is
  recorded (``shared.outcomes``), so it always agrees with the logs and ``newsflow status``;
* ``newsflow_step_duration_seconds{service,step}``: histograms of ``fetch``, ``extract``,
  ``tag`` and ``bulk`` (:func:`timed`);
* ``newsflow_host_waits_total{service,host}`` and ``newsflow_host_wait_seconds_total``: waits
  for a host's politeness slot (:func:`observe_host_wait`);
* Celery processes: ``celery_task_received_total``, ``celery_task_started_total``,
  ``celery_task_succeeded_total``, ``celery_task_failed_total``, ``celery_task_retried_total``,
  ``celery_task_rejected_total`` and the ``celery_task_runtime`` histogram, labelled
  ``name``/``hostname`` as celery-exporter names them, so its dashboards and alerts carry over.

The cluster-wide gauges (queue lengths, age of the oldest waiting item, delayed and dead
letters, stream pending entries) describe shared state, not a process: they are exported by one
process only, ``newsflow health --every`` (see :class:`ClusterCollector`), so a sum over
scaled-out workers never counts a queue twice. Their names: ``celery_queue_length{queue_name}``
(celery-exporter's), ``newsflow_queue_oldest_age_seconds{queue_name}``,
``newsflow_stream_pending{queue_name}``, ``newsflow_stream_lag{queue_name}``,
``newsflow_delayed_items``, ``newsflow_delayed_overdue_seconds``, ``newsflow_dead_letters``.

Prefork (Celery's pool forks children that do the work): multiprocess mode. The parent sets a
fresh per-process-tree directory (``METRICS_DIR``/``<service>-<pid>``, or a temp dir) before
any metric value exists and serves ``/metrics`` from a ``MultiProcessCollector`` summing every
child's memory-mapped file; a child that exits is marked dead (its counters stay, as counters
must). Every metric has labels, so values are only created on first use, after the switch.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)

_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

ITEMS = Counter(
    "newsflow_items_total", "Items by stage, outcome and reason.", ["service", "stage", "outcome", "reason"]
)
STEP_DURATION = Histogram(
    "newsflow_step_duration_seconds",
    "Duration of one fetch, extract, tag or bulk step.",
    ["service", "step"],
    buckets=_DURATION_BUCKETS,
)
HOST_WAITS = Counter("newsflow_host_waits_total", "Waits for a host's politeness slot.", ["service", "host"])
HOST_WAIT_SECONDS = Counter(
    "newsflow_host_wait_seconds_total",
    "Seconds items were told to wait for a host's slot.",
    ["service", "host"],
)
# celery-exporter's names and labels
TASK_RECEIVED = Counter("celery_task_received_total", "Tasks received.", ["name", "hostname"])
TASK_STARTED = Counter("celery_task_started_total", "Tasks started.", ["name", "hostname"])
TASK_SUCCEEDED = Counter("celery_task_succeeded_total", "Tasks succeeded.", ["name", "hostname"])
TASK_FAILED = Counter("celery_task_failed_total", "Tasks failed.", ["name", "hostname", "exception"])
TASK_RETRIED = Counter("celery_task_retried_total", "Tasks retried.", ["name", "hostname"])
TASK_REJECTED = Counter("celery_task_rejected_total", "Tasks rejected.", ["name", "hostname"])
TASK_RUNTIME = Histogram(
    "celery_task_runtime", "Task runtime in seconds.", ["name", "hostname"], buckets=_DURATION_BUCKETS
)

_service = "newsflow"
_started_dir: Path | None = None


def service_name() -> str:
    return _service


# Our own politeness slot (core's HostBusy; ``rate_limited`` before the split).
_HOST_WAIT_REASONS = frozenset({"host_busy"})


def observe_outcome(
    stage: str,
    outcome: str,
    reason: str | None,
    fields: Mapping[str, Any] | None = None,
    *,
    amount: int = 1,
) -> None:
    ITEMS.labels(_service, stage, outcome, reason or "").inc(amount)
    if reason in _HOST_WAIT_REASONS and fields:
        host = fields.get("host") or urlsplit(str(fields.get("url") or "")).hostname
        if host:
            observe_host_wait(str(host), float(fields.get("delay") or fields.get("wait_seconds") or 0.0))


def observe_host_wait(host: str, seconds: float) -> None:
    """Call where an item is told to wait for its host's slot (HostBusy)."""
    HOST_WAITS.labels(_service, host).inc()
    HOST_WAIT_SECONDS.labels(_service, host).inc(max(0.0, seconds))


@contextmanager
def timed(step: str) -> Iterator[None]:
    """``with timed("fetch"): ...`` observes the block's duration, also when it raises."""
    start = time.perf_counter()
    try:
        yield
    finally:
        STEP_DURATION.labels(_service, step).observe(time.perf_counter() - start)


def _multiprocess_dir(service: str, base: Path | None) -> Path:
    if base is None:
        return Path(tempfile.mkdtemp(prefix=f"newsflow-metrics-{service}-"))
    path = base / f"{service}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def start_metrics(
    service: str,
    port: int,
    *,
    bind: str = "0.0.0.0",
    base_dir: Path | None = None,
    collectors: Iterable[Collector] = (),
) -> int | None:
    """Switch this process tree to multiprocess metrics and serve ``/metrics`` on ``port``.

    Call once in the parent, before any child is forked and before any metric is used.
    Returns the port served (``port=0`` serves nothing and returns None).
    """
    global _service, _started_dir
    _service = service
    if not port:
        return None
    if _started_dir is None:
        _started_dir = _multiprocess_dir(service, base_dir)
        # prometheus_client chooses multiprocess mode from this variable; children inherit it.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_started_dir)
        values.ValueClass = values.MultiProcessValue()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(_started_dir))
    for collector in collectors:
        registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr=bind, registry=registry)
    except OSError as exc:  # port taken: the service runs on, only unobserved (and says so)
        log.error("metrics_port_unavailable", service=service, port=port, error=str(exc)[:200])
        return None
    served = int(server.server_address[1])
    log.info("metrics_serving", service=service, port=served, multiprocess_dir=str(_started_dir))
    return served


def mark_process_dead(pid: int) -> None:
    """A prefork child is gone: drop its live gauges (its counters are kept)."""
    if _started_dir is not None:
        multiprocess.mark_process_dead(pid, path=str(_started_dir))


# --- Celery hooks ---------------------------------------------------------------------------


def connect_celery(service: str, port: int, bind: str, base_dir: Path | None) -> None:
    """Serve metrics from a Celery worker's or beat's parent, count tasks by their signals."""
    from celery import signals

    started: dict[str, float] = {}

    def _host(sender: Any) -> str:
        return str(getattr(getattr(sender, "request", None), "hostname", None) or os.uname().nodename)

    @signals.worker_init.connect(weak=False)
    def _worker_init(**_: Any) -> None:
        start_metrics(service, port, bind=bind, base_dir=base_dir)

    @signals.beat_init.connect(weak=False)
    def _beat_init(**_: Any) -> None:
        start_metrics(service, port, bind=bind, base_dir=base_dir)

    @signals.worker_process_shutdown.connect(weak=False)
    def _child_gone(pid: int | None = None, **_: Any) -> None:
        mark_process_dead(pid or os.getpid())

    @signals.task_received.connect(weak=False)
    def _received(request: Any = None, **_: Any) -> None:
        TASK_RECEIVED.labels(getattr(request, "name", "?"), getattr(request, "hostname", "") or "").inc()

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
        TASK_STARTED.labels(getattr(task, "name", "?"), _host(task)).inc()
        if task_id:
            started[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
        name, host = getattr(task, "name", "?"), _host(task)
        begun = started.pop(task_id or "", None)
        if begun is not None:
            TASK_RUNTIME.labels(name, host).observe(time.perf_counter() - begun)
        if state == "SUCCESS":
            TASK_SUCCEEDED.labels(name, host).inc()

    @signals.task_failure.connect(weak=False)
    def _failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
        TASK_FAILED.labels(getattr(sender, "name", "?"), _host(sender), type(exception).__name__).inc()

    @signals.task_retry.connect(weak=False)
    def _retry(sender: Any = None, **_: Any) -> None:
        TASK_RETRIED.labels(getattr(sender, "name", "?"), _host(sender)).inc()

    @signals.task_rejected.connect(weak=False)
    def _rejected(message: Any = None, **_: Any) -> None:
        name = (getattr(message, "headers", None) or {}).get("task", "?")
        TASK_REJECTED.labels(name, os.uname().nodename).inc()


# --- cluster-wide gauges ----------------------------------------------------------------------


class ClusterCollector(Collector):
    """Queue lengths, oldest waiting item, delayed and dead letters, read at scrape time.

    ``probes`` is a callable returning the current readings (``shared.queues.read_queues``),
    so this module does not know the Redis layout.
    """

    def __init__(self, probes: Callable[[], dict[str, Any]]) -> None:
        self._probes = probes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            reading = self._probes()
        except Exception as exc:  # a scrape must answer even when Redis does not
            log.warning("metrics_probe_failed", error=str(exc)[:200])
            return
        length = GaugeMetricFamily(
            "celery_queue_length", "Messages waiting in a queue.", labels=["queue_name"]
        )
        age = GaugeMetricFamily(
            "newsflow_queue_oldest_age_seconds", "Age of the oldest waiting item.", labels=["queue_name"]
        )
        pending = GaugeMetricFamily(
            "newsflow_stream_pending", "Delivered, unacknowledged stream entries.", labels=["queue_name"]
        )
        lag = GaugeMetricFamily(
            "newsflow_stream_lag", "Stream entries not yet delivered to the group.", labels=["queue_name"]
        )
        for queue, info in reading.get("queues", {}).items():
            length.add_metric([queue], float(info.get("length", 0)))
            if info.get("oldest_age_seconds") is not None:
                age.add_metric([queue], float(info["oldest_age_seconds"]))
            if info.get("pending") is not None:
                pending.add_metric([queue], float(info["pending"]))
            if info.get("lag") is not None:
                lag.add_metric([queue], float(info["lag"]))
        yield from (length, age, pending, lag)
        delayed = reading.get("delayed", {})
        yield GaugeMetricFamily(
            "newsflow_delayed_items", "Items in the delay queue.", value=delayed.get("items", 0)
        )
        yield GaugeMetricFamily(
            "newsflow_delayed_overdue_seconds",
            "How long the most overdue delayed item has been due.",
            value=delayed.get("overdue_seconds", 0.0),
        )
        yield GaugeMetricFamily(
            "newsflow_dead_letters", "Dead letters kept for replay.", value=reading.get("dead_letters", 0)
        )
