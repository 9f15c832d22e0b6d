"""The dead-letter registry on real Redis: addressable entries, caps, atomic replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.deadletters import DROPPED_COUNTER, DeadLetters
from shared.delay import Delayed, DelayQueue
from shared.errors import Reason
from shared.keys import Keys
from shared.outcomes import read_counters

pytestmark = pytest.mark.integration


def _add(dl: DeadLetters, n: int, reason: Reason = Reason.INTERNAL_ERROR, **kw: Any) -> str:
    kwargs = {"url": f"https://x.example/{n}", "tags": [], "attempt": 4, "waits": 2}
    return dl.add(
        task="worker.process_url", kwargs=kwargs, reason=reason, error=f"boom {n}", attempts=5, **kw
    )


def test_entries_are_addressable_and_a_repeat_failure_updates_its_entry(
    redis_client: Any, unique_name: str
) -> None:
    dl = DeadLetters(redis_client, Keys(unique_name))
    first = _add(dl, 1, now=1000.0)
    again = _add(dl, 1, reason=Reason.RETRIES_EXHAUSTED, now=2000.0)
    other = _add(dl, 2, now=1500.0)
    assert first == again != other and dl.count() == 2
    entry = dl.get(first)
    assert entry is not None
    assert entry["first_failure"] == 1000.0 and entry["last_failure"] == 2000.0
    assert entry["failures"] == 2 and entry["attempts"] == 5 and entry["reason"] == "retries_exhausted"
    assert entry["kwargs"] == {"url": "https://x.example/1", "tags": []}  # retry counters reset
    assert [e["id"] for e in dl.list(10)] == [other, first]  # oldest last failure first
    assert [e["id"] for e in dl.list(10, reason=Reason.RETRIES_EXHAUSTED)] == [first]
    assert dl.list(10, reason=Reason.INTERNAL_ERROR)[0]["id"] == other
    assert dl.get("nope") is None


def test_size_and_age_caps_drop_the_oldest_and_count_them(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    dl = DeadLetters(redis_client, keys, max_entries=3, max_age_seconds=1000)
    ids = [_add(dl, n, now=10_000.0 + n) for n in range(5)]
    assert [e["id"] for e in dl.list(10)] == ids[2:]
    assert redis_client.get(keys.dead_letter(ids[0])) is None and dl.get(ids[0]) is None
    _add(dl, 9, now=11_003.5)  # everything older than 1000 s before it goes
    assert [e["id"] for e in dl.list(10)] == [ids[4], dl.list(10)[-1]["id"]]
    assert read_counters(redis_client, keys)[DROPPED_COUNTER] == 4
    assert dl.count(Reason.INTERNAL_ERROR) == 2


def test_replay_one_by_reason_and_all_moves_entries_into_the_delay_queue(
    redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    dl, delay = DeadLetters(redis_client, keys), DelayQueue(redis_client, keys)
    a = _add(dl, 1)
    _add(dl, 2, reason=Reason.POISON)
    _add(dl, 3, reason=Reason.POISON)
    _add(dl, 4)
    assert dl.replay(ids=[a, "missing"]) == 1 and dl.count() == 3
    assert dl.replay(reason=Reason.POISON) == 2 and dl.count() == 1 and dl.count(Reason.POISON) == 0
    assert dl.replay() == 1 and dl.count() == 0
    entries = [e for e, _ in delay.entries() if isinstance(e, Delayed)]
    assert sorted(e.kwargs["url"] for e in entries) == [f"https://x.example/{n}" for n in (1, 2, 3, 4)]
    assert all(e.task == "worker.process_url" and e.kwargs["tags"] == [] for e in entries)
    # Due now, and decodable by the pump (the script writes shared.delay's member shape).
    assert len(delay.claim(30, 10)) == 4
    assert all(json.loads(e.member)["kwargs"] == e.kwargs for e in entries)
    assert redis_client.keys(f"{unique_name}:dlq:*") == []


def test_replay_racing_new_dead_letters_loses_none(redis_client: Any, unique_name: str) -> None:
    """Each entry is either still in the registry or in the delay queue, never neither."""
    import threading

    from shared.clients import make_redis
    from shared.settings import Settings

    keys = Keys(unique_name)
    url = redis_client.connection_pool.connection_kwargs
    other = make_redis(Settings(redis_url=f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}"))
    writer = DeadLetters(other, keys)
    total = 300

    def add_all() -> None:
        for n in range(total):
            _add(writer, n)

    thread = threading.Thread(target=add_all)
    thread.start()
    dl, delay, moved = DeadLetters(redis_client, keys), DelayQueue(redis_client, keys), 0
    while thread.is_alive():
        moved += dl.replay()
    thread.join()
    moved += dl.replay(reason=Reason.INTERNAL_ERROR)
    other.close()
    assert moved == total == delay.size() and dl.count() == 0
    urls = {e.kwargs["url"] for e, _ in delay.entries() if isinstance(e, Delayed)}
    assert urls == {f"https://x.example/{n}" for n in range(total)}
