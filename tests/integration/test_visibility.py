"""A short visibility timeout, safely: a live worker's heartbeat keeps a slow message its
own, and a dead worker's message comes back to another one a timeout later."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest

from shared.celery_app import Heartbeat
from shared.deps import Deps
from tests import probe_tasks
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_heartbeat_renews_only_the_tags_still_held(redis_client: Any, unique_name: str) -> None:
    from shared.keys import Keys

    keys = Keys(unique_name)
    redis_client.zadd(keys.unacked_index, {"held": 1.0, "other": 1.0})
    beat = Heartbeat(redis_client, keys, lambda: ["held", "acked-meanwhile"], interval=60)
    assert beat.beat() == 2
    scores = dict(redis_client.zrange(keys.unacked_index, 0, -1, withscores=True))
    assert scores["other"] == 1.0 and scores["held"] > 1.0
    assert "acked-meanwhile" not in scores  # ZADD XX: never revives an acknowledged message


def _settings(make_settings: Any) -> Any:
    return make_settings(
        visibility_timeout_seconds=3, task_soft_time_limit=30, task_time_limit=40, log_format="json"
    )


def test_a_message_slower_than_the_visibility_timeout_is_delivered_once(
    make_settings: Any, redis_client: Any
) -> None:
    settings = _settings(make_settings)
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    received = probe_tasks.received_key(deps)
    try:
        with celery_worker("tests.probe_tasks", [probe_tasks.QUEUE], settings_env(settings), concurrency=2):
            deps.dispatcher.send(probe_tasks.TASK, {"n": 1, "seconds": 9})  # three timeouts long
            wait_for(lambda: redis_client.llen(received) >= 1, timeout=60, what="the slow message done")
            deps.dispatcher.send(probe_tasks.TASK, {"n": 2})  # a marker: the queue has moved on
            wait_for(lambda: redis_client.llen(received) >= 2, timeout=30, what="the marker")
        assert [json.loads(m)["n"] for m in redis_client.lrange(received, 0, -1)] == [1, 2]
    finally:
        deps.close()


def test_a_killed_workers_message_is_processed_by_the_next_one(make_settings: Any, redis_client: Any) -> None:
    settings = _settings(make_settings)
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    received = probe_tasks.received_key(deps)
    env = settings_env(settings)
    try:
        with celery_worker("tests.probe_tasks", [probe_tasks.QUEUE], env, name="doomed") as proc:
            deps.dispatcher.send(probe_tasks.TASK, {"n": 7, "seconds": 5})
            wait_for(lambda: redis_client.hlen(deps.keys.unacked), timeout=30, what="the message taken")
            os.killpg(proc.pid, signal.SIGKILL)  # main process and pool child: no warm shutdown
            proc.wait(timeout=10)
        assert redis_client.hlen(deps.keys.unacked) == 1 and redis_client.llen(received) == 0
        with celery_worker("tests.probe_tasks", [probe_tasks.QUEUE], env, name="heir"):
            # Nobody renews the dead worker's message: it returns one timeout later.
            wait_for(lambda: redis_client.llen(received) >= 1, timeout=60, what="the message redelivered")
        assert [json.loads(m)["n"] for m in redis_client.lrange(received, 0, -1)] == [7]
        assert redis_client.hlen(deps.keys.unacked) == 0
    finally:
        deps.close()
