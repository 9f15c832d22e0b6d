"""The one Celery app, configured from settings: routing, limits, delivery decided once.

Delivery (details and reasons: docs/delivery.md):

* late acks, ``task_reject_on_worker_lost`` and ``task_acks_on_failure_or_timeout=False``:
  a killed pool child or a hard time limit puts the message back on its queue at once (and
  ``shared.runner`` counts the delivery, so poison is bounded). That last setting also
  makes kombu *delete* a message whose task raised, so the runner lets nothing escape but
  ``Reject(requeue=True)``;
* a small prefetch (``WORKER_PREFETCH_MULTIPLIER``, 2: the running message and the next, so
  a child never waits for its parent to fetch) and nothing delayed inside a worker
  (``shared.delay``): a worker holds only what it is about to work on, so the visibility
  timeout can be short (30 s) and a ``kill -9`` of a worker's main process costs that, not
  twenty minutes;
* a heartbeat thread in each worker renews the unacked-index scores of the messages it
  still holds, so a task slower than the visibility timeout is never handed out twice;
* a delay pump thread in each worker moves due delayed messages to their queues;
* ``worker_cancel_long_running_tasks_on_connection_loss``: after a broker reconnect the
  tasks from the old connection are cancelled; their messages return to the queue.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import structlog
from celery import Celery, bootsteps, signals

from shared import metrics
from shared.clients.redis import celery_broker
from shared.deps import process_deps
from shared.keys import Keys
from shared.logging import configure_logging
from shared.messages import TASK_QUEUES, Queue
from shared.preflight import ConfigurationError, check_fetching_process
from shared.settings import Settings, get_settings

log = structlog.get_logger(__name__)


def create_app(service: str, settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    broker_url, broker_options = celery_broker(settings)  # BROKER_URL or REDIS_URL, Sentinel (ops)
    app = Celery(service, broker=broker_url)
    visibility = settings.visibility_timeout_seconds
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_default_queue=Queue.EXTRACT,
        task_create_missing_queues=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=settings.worker_prefetch_multiplier,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        broker_transport_options={
            "visibility_timeout": visibility,
            # Sweep for abandoned messages every few seconds, not kombu's 10 x 10 s.
            "unacked_restore_interval": max(1, visibility // 6),
            "unacked_restore_throttle": 1,
            # A sweeper killed while holding the sweep lock blocks sweeps only this long.
            "unacked_mutex_expire": max(5, visibility // 3),
            # Separate keys per prefix so test runs and deployments sharing one Redis never mix.
            "global_keyprefix": Keys(settings.redis_prefix).broker_prefix,
            **broker_options,
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Task events for Flower / `celery events`: off unless asked for, since they cost every
        # message a publish or two (~2 ms of worker CPU); Flower turns workers' on while it runs.
        worker_send_task_events=settings.task_events,
        task_send_sent_event=settings.task_events,
        timezone="UTC",
        enable_utc=True,
    )
    app.steps["consumer"].add(MessageLayerStep)
    _connect_signals(service, settings)
    _connect_ops(service, settings)
    return app


# Services that fetch from the web: they refuse to start without a usable CONTACT_URL (ops).
FETCHING_SERVICES = frozenset({"crawler", "worker"})


def _connect_ops(service: str, settings: Settings) -> None:
    """Metrics endpoint and task counters; the start-up refusal of a misconfigured crawl."""
    metrics.connect_celery(service, settings.metrics_port, settings.metrics_bind, settings.metrics_dir)
    if service not in FETCHING_SERVICES:
        return

    def _preflight(**_: Any) -> None:
        try:
            check_fetching_process(settings)
        except ConfigurationError as exc:
            log.error("startup_refused", service=service, error=str(exc))
            print(f"newsflow {service}: {exc}", file=sys.stderr)
            # SystemExit, not an Exception: Celery logs and swallows exceptions from signal
            # handlers, and the process must not start.
            raise SystemExit(78) from exc  # EX_CONFIG

    signals.worker_init.connect(_preflight, weak=False)
    signals.beat_init.connect(_preflight, weak=False)


def _connect_signals(service: str, settings: Settings) -> None:
    @signals.setup_logging.connect(weak=False)
    def _setup_logging(**_: Any) -> None:
        configure_logging(settings, service)

    @signals.task_prerun.connect(weak=False)
    def _bind_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=service, task_id=task_id, task_name=getattr(task, "name", None)
        )


class Heartbeat:
    """Keeps the messages a live worker holds from looking abandoned.

    kombu hands a message out again once its score in the unacked index is older than the
    visibility timeout. Every ``interval`` seconds this renews the score of every delivery
    tag the worker still holds (``ZADD XX``: a tag acknowledged meanwhile is not revived).
    A worker that dies stops renewing, and its messages return one timeout later.
    """

    def __init__(self, r: redis.Redis, keys: Keys, held: Callable[[], list[str]], interval: float) -> None:
        self._r, self._keys, self._held, self._interval = r, keys, held, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> int:
        tags = self._held()
        if tags:
            now = time.time()
            self._r.zadd(self._keys.unacked_index, dict.fromkeys(tags, now), xx=True)
        return len(tags)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.beat()
            except Exception as exc:  # Redis away: the next beat tries again
                log.warning("heartbeat_failed", error=str(exc)[:300])

    def start(self) -> Heartbeat:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="unacked-heartbeat", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def held_delivery_tags(consumer: Any) -> list[str]:
    """Delivery tags the worker's task consumer holds unacknowledged (kombu's QoS)."""
    task_consumer = getattr(consumer, "task_consumer", None)
    channel = getattr(task_consumer, "channel", None)
    delivered = getattr(getattr(channel, "qos", None), "_delivered", None) or {}
    return [str(tag) for tag in tuple(delivered)]


class MessageLayerStep(bootsteps.StartStopStep):
    """In a worker's main process: the delay pump and the unacked heartbeat threads."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._pump: Any = None
        self._heartbeat: Heartbeat | None = None

    def start(self, parent: Any) -> None:
        deps = process_deps(parent.app)
        if self._pump is None:
            self._pump = deps.pump().start()
        if self._heartbeat is None:
            interval = max(1.0, deps.settings.visibility_timeout_seconds / 4)
            self._heartbeat = Heartbeat(
                deps.broker or deps.redis, deps.keys, lambda: held_delivery_tags(parent), interval
            ).start()

    def stop(self, parent: Any) -> None:
        pass  # also called on a broker reconnect: the threads carry on

    def shutdown(self, parent: Any) -> None:
        if self._pump is not None:
            self._pump.stop()
        if self._heartbeat is not None:
            self._heartbeat.stop()
