"""The delete-on-failure trap is closed: when Redis fails mid-task the message goes back to
its queue (``Reject(requeue=True)``) and runs again, instead of being deleted by kombu."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.deps import Deps
from tests import probe_tasks
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_a_broker_error_mid_task_requeues_the_message(make_settings: Any, redis_client: Any) -> None:
    settings = make_settings(max_deliveries=1, log_format="json")  # the blip must not count
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    received = probe_tasks.received_key(deps)
    try:
        with celery_worker("tests.probe_tasks", [probe_tasks.QUEUE], settings_env(settings)):
            deps.dispatcher.send(probe_tasks.TASK, {"n": 1, "mode": "broker_blip"})
            wait_for(lambda: redis_client.llen(received) >= 1, timeout=60, what="the message run again")
        assert [json.loads(m)["n"] for m in redis_client.lrange(received, 0, -1)] == [1]
        assert redis_client.get(f"{settings.redis_prefix}:probe:blips") == "2"  # two deliveries
        assert deps.dead_letters.count() == 0  # not poison: an outage is not the message's fault
    finally:
        deps.close()
