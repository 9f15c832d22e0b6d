"""The dispatcher's messages are real Celery messages: a real worker consumes them all."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.deps import Deps
from shared.messages import TaskName
from tests import probe_tasks
from tests.integration.crawler_support import queue_messages
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_send_many_is_consumed_by_a_celery_worker(make_settings: Any, redis_client: Any) -> None:
    settings = make_settings(log_format="json")
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    key = f"{settings.redis_prefix}:probe:received"
    try:
        deps.dispatcher.send_many(probe_tasks.TASK, [{"n": n} for n in range(200)])
        deps.dispatcher.send(probe_tasks.TASK, {"n": 200})
        sent = queue_messages(redis_client, deps.keys, probe_tasks.QUEUE)
        assert len(sent) == 201 and len({m["id"] for m in sent}) == 201  # one task id each
        with celery_worker("tests.probe_tasks", [probe_tasks.QUEUE], settings_env(settings), concurrency=2):
            wait_for(lambda: redis_client.llen(key) >= 201, timeout=60, what="every message consumed")
        received = sorted(json.loads(raw)["n"] for raw in redis_client.lrange(key, 0, -1))
        assert received == list(range(201))
    finally:
        deps.close()


def test_index_documents_go_to_the_stream_and_backlog_counts_both_kinds(
    make_settings: Any, redis_client: Any
) -> None:
    settings = make_settings()
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    try:
        assert deps.dispatcher.backlog(TaskName.INDEX_DOCUMENT) == 0
        deps.dispatcher.send_many(TaskName.INDEX_DOCUMENT, [{"document": {"n": n}} for n in range(3)])
        assert deps.dispatcher.backlog(TaskName.INDEX_DOCUMENT) == 3
        assert redis_client.xlen(deps.keys.index_stream) == 3
        assert queue_messages(redis_client, deps.keys, "index") == []  # not a Celery queue
        deps.dispatcher.send_many(probe_tasks.TASK, [{"n": 1}, {"n": 2}])
        assert deps.dispatcher.backlog(probe_tasks.TASK) == 2
        with pytest.raises(ValueError, match="no queue"):
            deps.dispatcher.send("nobody.listens", {})
    finally:
        deps.close()
