"""What `newsflow status` and the cluster gauges read from Redis: lists, the stream, delays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared import index_stream
from shared.delay import DelayQueue
from shared.index_stream import GROUP
from shared.keys import Keys
from shared.queues import QueueProbe

pytestmark = pytest.mark.integration


def test_celery_list_length_and_the_age_its_tail_has_waited(redis_client: Any, make_settings: Any) -> None:
    keys = Keys(make_settings().redis_prefix)
    probe = QueueProbe(redis_client, redis_client, keys)
    redis_client.lpush(keys.queue("extract"), json.dumps({"n": 1}), json.dumps({"n": 2}))
    assert probe.read(now=1000.0)["queues"]["extract"] == {"length": 2, "oldest_age_seconds": 0.0}
    assert probe.read(now=1030.0)["queues"]["extract"]["oldest_age_seconds"] == 30.0  # same tail
    redis_client.rpop(keys.queue("extract"))  # a worker took the oldest: a new tail starts at 0
    assert probe.read(now=1040.0)["queues"]["extract"] == {"length": 1, "oldest_age_seconds": 0.0}


def test_stream_pending_lag_and_oldest_unsettled(redis_client: Any, make_settings: Any) -> None:
    keys = Keys(make_settings().redis_prefix)
    index_stream.publish(redis_client, keys, [{"document": {"id": str(i)}} for i in range(5)])
    redis_client.xgroup_create(keys.index_stream, GROUP, id="0", mkstream=True)
    redis_client.xreadgroup(GROUP, "indexer-1", {keys.index_stream: ">"}, count=2)  # 2 delivered
    reading = QueueProbe(redis_client, redis_client, keys).read()
    stream = reading["queues"]["index"]
    assert stream["length"] == 5 and stream["pending"] == 2 and stream["lag"] == 3
    assert stream["oldest_age_seconds"] >= 0.0


def test_delay_queue_size_and_how_overdue_its_head_is(redis_client: Any, make_settings: Any) -> None:
    keys = Keys(make_settings().redis_prefix)
    DelayQueue(redis_client, keys).schedule("worker.process_url", {"url": "http://a/"}, at=500.0)
    reading = QueueProbe(redis_client, redis_client, keys).read(now=560.0)
    assert reading["delayed"] == {"items": 1, "overdue_seconds": 60.0}
    assert reading["dead_letters"] == 0 and reading["unacked"] == 0
