"""The shared seen-set and the per-host slot script on the real Redis."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shared.keys import Keys
from shared.ratelimit import BOOKING_HORIZON_SECONDS, acquire_slot, push_back, set_host_interval
from shared.seen import (
    forget,
    is_seen,
    mark_new,
    mark_new_many,
    url_key_hash,
)

pytestmark = pytest.mark.integration


def test_mark_new_once_per_normalised_url(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    url = "https://Example.com:443/news/a.html?utm_source=x#top"
    assert mark_new(redis_client, keys, url, 3600)
    assert not mark_new(redis_client, keys, "https://example.com/news/a.html", 3600)
    assert is_seen(redis_client, keys, "https://example.com/news/a.html?fbclid=1")
    ttl = redis_client.ttl(keys.seen(url_key_hash(url)))
    assert 3590 < ttl <= 3600
    forget(redis_client, keys, url)
    assert not is_seen(redis_client, keys, url)


def test_mark_new_many_and_concurrent_claims(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    urls = [f"https://ex.com/n/{i}-12345" for i in range(50)]
    assert mark_new_many(redis_client, keys, urls[:10], 60) == [True] * 10
    wins: list[int] = []
    lock = threading.Lock()

    def claim() -> None:
        won = sum(mark_new_many(redis_client, keys, urls, 60))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == 40  # every remaining URL claimed by exactly one thread


def test_host_slots_are_spaced_and_pushed_back(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    assert acquire_slot(redis_client, keys, "ex.com", 0.5) == 0.0
    wait = acquire_slot(redis_client, keys, "ex.com", 0.5)
    assert 0.4 < wait <= 0.5
    assert acquire_slot(redis_client, keys, "other.example", 0.5) == 0.0  # per host
    push_back(redis_client, keys, "ex.com", 5.0)
    assert 4.9 < acquire_slot(redis_client, keys, "ex.com", 0.5) <= 5.0
    push_back(redis_client, keys, "ex.com", 1.0)  # never moves the time backwards
    assert acquire_slot(redis_client, keys, "ex.com", 0.5) > 4.0


def test_configured_host_rate_and_crawl_delay_floor(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    set_host_interval(redis_client, keys, "slow.example", 0.5, 60)  # 0.5 req/s -> 2 s
    assert acquire_slot(redis_client, keys, "slow.example", 0.1) == 0.0
    assert 1.9 < acquire_slot(redis_client, keys, "slow.example", 0.1) <= 2.0
    assert acquire_slot(redis_client, keys, "delay.example", 0.1, floor_seconds=3.0) == 0.0
    assert 2.9 < acquire_slot(redis_client, keys, "delay.example", 0.1) <= 3.0


def test_slots_are_booked_in_turn_up_to_the_horizon(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    waits = [acquire_slot(redis_client, keys, "busy.example", 1.0) for _ in range(4)]
    # Each caller books its own future slot: a burst of N costs N calls, not N² retries.
    assert waits[0] == 0.0
    for i, wait in enumerate(waits[1:], start=1):
        assert i - 0.1 < wait <= i
    push_back(redis_client, keys, "busy.example", BOOKING_HORIZON_SECONDS + 50)
    beyond = acquire_slot(redis_client, keys, "busy.example", 1.0)
    assert beyond < -BOOKING_HORIZON_SECONDS  # too far ahead: nothing booked ...
    assert acquire_slot(redis_client, keys, "busy.example", 1.0) == pytest.approx(
        beyond, abs=0.1
    )  # ... so no drift
