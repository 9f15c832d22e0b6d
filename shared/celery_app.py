"""The one Celery app, configured from settings: routing, limits and serialisation decided once."""

from __future__ import annotations

import sys
from typing import Any

import structlog
from celery import Celery, signals

from shared import metrics
from shared.clients.redis import celery_broker
from shared.logging import configure_logging
from shared.messages import TASK_QUEUES, Queue
from shared.preflight import ConfigurationError, check_fetching_process
from shared.settings import Settings, get_settings

# The longest retry countdown we ever schedule; the visibility timeout must exceed it, or
# Redis hands a delayed message to a second worker before the first one runs it.
MAX_COUNTDOWN_SECONDS = 600


def create_app(service: str, settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    broker_url, broker_options = celery_broker(settings)  # BROKER_URL or REDIS_URL, Sentinel
    app = Celery(service, broker=broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_default_queue=Queue.EXTRACT,
        task_create_missing_queues=True,
        # At-least-once: a killed worker's message returns instead of disappearing.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Tasks turn every expected failure into an outcome themselves; an exception that
        # still escapes means Redis itself is unreachable, and the message must come back.
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        broker_transport_options={
            "visibility_timeout": max(settings.task_time_limit, MAX_COUNTDOWN_SECONDS) * 2,
            # Separate keys per prefix so test runs and deployments sharing one Redis never mix.
            "global_keyprefix": f"{settings.redis_prefix}:celery:",
            **broker_options,
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Task events on: Flower and celery-exporter see every task (ops).
        worker_send_task_events=True,
        task_send_sent_event=True,
        timezone="UTC",
        enable_utc=True,
    )
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
            structlog.get_logger(__name__).error("startup_refused", service=service, error=str(exc))
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
