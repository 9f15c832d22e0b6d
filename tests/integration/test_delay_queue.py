"""The delay queue on real Redis: due order, leases, and a pump that crashed mid-dispatch."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.delay import Delayed, DelayQueue, Pump
from shared.deps import Deps
from tests import probe_tasks
from tests.integration.crawler_support import queue_messages

pytestmark = pytest.mark.integration


def _server_now(r: Any) -> float:
    seconds, micros = r.time()
    return seconds + micros / 1e6


def test_claim_returns_due_entries_in_due_order_and_leaves_the_rest(
    redis_client: Any, unique_name: str
) -> None:
    from shared.keys import Keys

    delay = DelayQueue(redis_client, Keys(unique_name))
    now = _server_now(redis_client)
    delay.schedule("t.b", {"n": 2}, now - 1)
    delay.schedule("t.a", {"n": 1}, now - 3)
    delay.schedule("t.c", {"n": 3}, now + 600)
    delay.schedule_in("t.d", {"n": 4}, 0)
    claimed = delay.claim(lease_seconds=30, limit=10)
    assert [(e.task, e.kwargs["n"]) for e in claimed if isinstance(e, Delayed)] == [
        ("t.a", 1),
        ("t.b", 2),
        ("t.d", 4),
    ]
    assert delay.claim(lease_seconds=30, limit=10) == []  # leased: nobody else takes them
    assert delay.size() == 4  # nothing removed until dispatched


def test_a_crashed_pumps_entries_come_back_after_the_lease(redis_client: Any, unique_name: str) -> None:
    from shared.keys import Keys

    delay = DelayQueue(redis_client, Keys(unique_name))
    delay.schedule_in("t.x", {"n": 1}, 0)
    first = delay.claim(lease_seconds=0.5, limit=10)  # ... and this pump dies before removing
    assert len(first) == 1
    assert delay.claim(lease_seconds=0.5, limit=10) == []
    time.sleep(0.6)
    again = delay.claim(lease_seconds=30, limit=10)
    assert [e.kwargs for e in again if isinstance(e, Delayed)] == [{"n": 1}]


def test_pump_sends_due_messages_to_their_celery_queue(make_settings: Any, redis_client: Any) -> None:
    settings = make_settings()
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    try:
        now = _server_now(redis_client)
        for n in range(5):
            deps.delay.schedule(probe_tasks.TASK, {"n": n}, now - 5 + n)
        deps.delay.schedule(probe_tasks.TASK, {"n": 99}, now + 600)
        pump = Pump(deps.delay, deps.dispatcher)
        assert pump.pump_once() == 5
        sent = queue_messages(redis_client, deps.keys, probe_tasks.QUEUE)
        # kombu LPUSHes and consumers BRPOP: the list's tail is the first consumed.
        assert [m["kwargs"]["n"] for m in reversed(sent)] == [0, 1, 2, 3, 4]
        assert {m["task"] for m in sent} == {probe_tasks.TASK}
        assert deps.delay.size() == 1
    finally:
        deps.close()


def test_an_entry_that_cannot_be_sent_becomes_a_dead_letter(make_settings: Any, redis_client: Any) -> None:
    settings = make_settings()
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    try:
        deps.delay.schedule_in("nobody.listens", {"n": 1}, 0)
        redis_client.zadd(deps.keys.delayed, {"{not json": 0})
        deps.pump().pump_once()
        assert deps.delay.size() == 0
        assert sorted(e["task"] for e in deps.dead_letters.list()) == ["nobody.listens", "unknown"]
    finally:
        deps.close()
