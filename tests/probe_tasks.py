"""A tiny Celery service for the message-layer tests, built like the real ones.

One stage over ``shared.runner`` on its own queue (``probe``): it records what it receives
in Redis, or fails as told: a retryable error, a process that kills itself, a task that
ignores its soft time limit until the hard one kills it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Mapping
from typing import Any

import redis
from celery import Celery
from pydantic import BaseModel, ConfigDict

from shared.celery_app import create_app
from shared.deps import Deps
from shared.errors import HostBusy, PermanentError, Reason, RetryableError
from shared.messages import Booking
from shared.runner import Outcome, Stage, register
from shared.settings import Settings, get_settings

TASK = "probe.run"
QUEUE = "probe"


class Probe(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    n: int = 0
    mode: str = "ok"  # ok | broker_blip | busy | retry | skip | crash | die | hang
    seconds: float = 0.0  # how long the work takes
    attempt: int = 0
    waits: int = 0
    booking: Booking | None = None


def received_key(deps: Deps) -> str:
    return f"{deps.keys.prefix}:probe:received"


def handle(deps: Deps, message: Probe) -> Outcome:
    if message.mode == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if message.mode == "hang":  # deaf to the soft time limit: only the hard one stops it
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        time.sleep(3600)
    if message.mode == "broker_blip" and deps.redis.incr(f"{deps.keys.prefix}:probe:blips") == 1:
        raise redis.ConnectionError("the broker went away mid-task")  # as redis-py raises it
    if message.mode == "busy":
        raise HostBusy("busy.example", 1.5, booked=True)
    if message.mode == "retry":
        raise RetryableError(Reason.TIMEOUT, "told to fail")
    if message.mode == "skip":
        raise PermanentError(Reason.NOT_ARTICLE, "told to skip")
    if message.mode == "crash":
        raise ZeroDivisionError("told to crash")
    time.sleep(message.seconds)
    deps.redis.rpush(received_key(deps), json.dumps(message.model_dump(mode="json")))
    return Outcome("probe_received", "received", fields={"n": message.n})


def finals_key(deps: Deps) -> str:
    return f"{deps.keys.prefix}:probe:finals"


def record_final(deps: Deps, kwargs: Mapping[str, Any], outcome: Outcome) -> None:
    row = [kwargs.get("mode", "ok"), outcome.outcome, outcome.reason, sorted(outcome.fields)]
    deps.redis.rpush(finals_key(deps), json.dumps(row))


STAGE = Stage(TASK, Probe, handle, "extract", "probe", on_final=record_final)


def make_app(settings: Settings) -> Celery:
    app = create_app("probe", settings)
    app.conf.task_routes = {**app.conf.task_routes, TASK: {"queue": QUEUE}}
    register(app, STAGE)
    return app


app = make_app(get_settings())  # what `celery -A tests.probe_tasks worker` runs
