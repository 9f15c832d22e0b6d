"""Poison is bounded: a message that kills its process, or that only the hard time limit
stops, is delivered ``MAX_DELIVERIES`` times by a real Celery worker, then dead-lettered
with reason ``poison``; the other messages keep flowing meanwhile."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.deps import Deps
from shared.errors import Reason
from tests import probe_tasks
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["die", "hang"])
def test_poison_is_attempted_max_deliveries_times_then_dead_lettered(
    make_settings: Any, redis_client: Any, mode: str
) -> None:
    settings = make_settings(max_deliveries=2, task_soft_time_limit=1, task_time_limit=2, log_format="json")
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    received = probe_tasks.received_key(deps)
    try:
        with celery_worker("tests.probe_tasks", [probe_tasks.QUEUE], settings_env(settings), concurrency=1):
            deps.dispatcher.send(probe_tasks.TASK, {"n": 1, "mode": mode})
            deps.dispatcher.send_many(probe_tasks.TASK, [{"n": n} for n in range(2, 6)])
            wait_for(
                lambda: deps.dead_letters.count(Reason.POISON) == 1,
                timeout=90,
                interval=0.5,
                what="the poison message dead-lettered",
            )
            wait_for(lambda: redis_client.llen(received) == 4, timeout=30, what="the others processed")
        (dead,) = deps.dead_letters.list()
        assert dead["reason"] == Reason.POISON and dead["attempts"] == 2
        assert dead["kwargs"] == {"n": 1, "mode": mode}
        assert sorted(json.loads(m)["n"] for m in redis_client.lrange(received, 0, -1)) == [2, 3, 4, 5]
        assert not list(redis_client.scan_iter(f"{settings.redis_prefix}:deliveries:*"))
    finally:
        deps.close()
