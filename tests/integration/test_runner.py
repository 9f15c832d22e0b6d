"""The stage runner in-process against real Redis: every intent maps to its outcome."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.delay import Delayed
from shared.deps import Deps
from shared.errors import Reason
from shared.outcomes import read_counters
from shared.runner import Verdict, execute
from tests import probe_tasks

pytestmark = pytest.mark.integration


@pytest.fixture
def deps(make_settings: Any, redis_client: Any) -> Iterator[Deps]:
    settings = make_settings(extract_retry_max_attempts=2, extract_retry_max_waits=1, max_deliveries=3)
    d = Deps.build(settings, probe_tasks.make_app(settings))
    yield d
    d.close()


def _run(deps: Deps, delivery_id: str | None = "m1", **kwargs: Any) -> Verdict:
    return execute(probe_tasks.STAGE, deps, kwargs, delivery_id=delivery_id)


def _delayed(deps: Deps) -> list[Delayed]:
    return [e for e, _ in deps.delay.entries() if isinstance(e, Delayed)]


def test_success_records_the_outcome_and_clears_the_delivery_count(deps: Deps) -> None:
    assert _run(deps, n=7) is Verdict.DONE
    assert deps.redis.llen(probe_tasks.received_key(deps)) == 1
    assert read_counters(deps.redis, deps.keys) == {"extract:received": 1}
    assert not deps.redis.exists(deps.keys.deliveries("m1"))


def test_retryable_is_delayed_with_attempt_plus_one_then_dead_lettered(deps: Deps) -> None:
    assert _run(deps, mode="retry") is Verdict.DONE
    (entry,) = _delayed(deps)
    assert entry.task == probe_tasks.TASK and entry.kwargs["attempt"] == 1 and entry.kwargs["waits"] == 0
    assert _run(deps, mode="retry", attempt=2) is Verdict.DONE  # the budget is 2 retries
    (dead,) = deps.dead_letters.list()
    assert dead["reason"] == Reason.RETRIES_EXHAUSTED and dead["attempts"] == 3
    assert dead["kwargs"] == {"n": 0, "mode": "retry", "seconds": 0.0}  # replayable: counters reset
    assert read_counters(deps.redis, deps.keys) == {
        "extract:retry:timeout": 1,
        "extract:dead_letter:retries_exhausted": 1,
    }


def test_host_busy_waits_for_the_booking_on_its_own_budget(deps: Deps) -> None:
    assert _run(deps, mode="busy", attempt=2) is Verdict.DONE  # attempts do not limit waits
    (entry,) = _delayed(deps)
    assert entry.kwargs["waits"] == 1 and entry.kwargs["attempt"] == 2
    assert entry.kwargs["booking"]["host"] == "busy.example"
    due = dict((e.member, score) for e, score in deps.delay.entries() if isinstance(e, Delayed))[entry.member]
    seconds, micros = deps.redis.time()
    assert 0 < due - (seconds + micros / 1e6) <= 1.5  # at the booked slot, no jitter
    assert _run(deps, mode="busy", waits=1) is Verdict.DONE
    assert [d["reason"] for d in deps.dead_letters.list()] == [Reason.RETRIES_EXHAUSTED]
    assert read_counters(deps.redis, deps.keys)["extract:wait:host_busy"] == 1


def test_permanent_is_skipped_crash_and_bad_message_are_dead_lettered(deps: Deps) -> None:
    assert _run(deps, mode="skip") is Verdict.DONE
    assert _run(deps, mode="crash") is Verdict.DONE
    assert _run(deps, n="not a number") is Verdict.DONE
    assert read_counters(deps.redis, deps.keys) == {
        "extract:skipped:not_article": 1,
        "extract:dead_letter:internal_error": 1,
        "extract:dead_letter:bad_message": 1,
    }
    reasons = {d["reason"]: d for d in deps.dead_letters.list()}
    assert "ZeroDivisionError" in reasons["internal_error"]["error"]
    assert reasons["bad_message"]["kwargs"] == {"n": "not a number"}


def test_a_message_delivered_more_than_max_deliveries_times_is_poison(deps: Deps) -> None:
    key = deps.keys.deliveries("m9")
    deps.redis.set(key, 3)  # three deliveries that ended with the process killed
    assert _run(deps, delivery_id="m9", n=1) is Verdict.DONE
    (dead,) = deps.dead_letters.list()
    assert dead["reason"] == Reason.POISON and dead["attempts"] == 3
    assert deps.redis.llen(probe_tasks.received_key(deps)) == 0  # not run a fourth time
    assert not deps.redis.exists(key)


def test_redis_down_means_the_message_comes_back(make_settings: Any) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    d = Deps.build(settings, probe_tasks.make_app(settings))
    try:
        assert _run(d, n=1) is Verdict.REQUEUE
    finally:
        d.close()
