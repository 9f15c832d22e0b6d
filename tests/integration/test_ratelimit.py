"""The per-host slot script on the real Redis: bookings, push-back, and the strict guarantee
checked on the grants' own clock (Redis TIME), with bookings that run late."""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Any

import pytest

from shared.keys import Keys
from shared.ratelimit import BOOKING_HORIZON_SECONDS, Booking, acquire_slot, push_back, set_host_interval

pytestmark = pytest.mark.integration


def test_host_slots_are_spaced_and_pushed_back(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    assert acquire_slot(redis_client, keys, "ex.com", 0.5).go
    second = acquire_slot(redis_client, keys, "ex.com", 0.5)
    assert 0.4 < second.wait <= 0.5 and second.booking is not None
    assert second.booking.host == "ex.com"
    assert acquire_slot(redis_client, keys, "other.example", 0.5).go  # per host
    push_back(redis_client, keys, "ex.com", 5.0)
    assert 4.9 < acquire_slot(redis_client, keys, "ex.com", 0.5).wait <= 5.0
    push_back(redis_client, keys, "ex.com", 1.0)  # never moves the time backwards
    assert acquire_slot(redis_client, keys, "ex.com", 0.5).wait > 4.0


def test_push_back_blocks_slots_booked_before_it(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    assert acquire_slot(redis_client, keys, "ex.com", 0.1).go
    booked = acquire_slot(redis_client, keys, "ex.com", 0.1).booking
    assert booked is not None
    push_back(redis_client, keys, "ex.com", 3.0)  # a 429 came in meanwhile
    time.sleep(0.15)
    again = acquire_slot(redis_client, keys, "ex.com", 0.1, booking=booked)
    assert 2.5 < again.wait <= 3.0  # the booking is void; a slot after the block is booked


def test_configured_host_rate_and_crawl_delay_floor(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    set_host_interval(redis_client, keys, "slow.example", 0.5, 60)  # 0.5 req/s -> 2 s
    assert acquire_slot(redis_client, keys, "slow.example", 0.1).go
    assert 1.9 < acquire_slot(redis_client, keys, "slow.example", 0.1).wait <= 2.0
    assert acquire_slot(redis_client, keys, "delay.example", 0.1, floor_seconds=3.0).go
    assert 2.9 < acquire_slot(redis_client, keys, "delay.example", 0.1).wait <= 3.0


def test_slots_are_booked_in_turn_up_to_the_horizon(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    waits = [acquire_slot(redis_client, keys, "busy.example", 1.0).wait for _ in range(4)]
    # Each caller books its own future slot: a burst of N costs N calls, not N² retries.
    assert waits[0] == 0.0
    for i, wait in enumerate(waits[1:], start=1):
        assert i - 0.1 < wait <= i
    push_back(redis_client, keys, "busy.example", BOOKING_HORIZON_SECONDS + 50)
    beyond = acquire_slot(redis_client, keys, "busy.example", 1.0)
    assert beyond.wait < -BOOKING_HORIZON_SECONDS and beyond.booking is None  # nothing booked ...
    assert acquire_slot(redis_client, keys, "busy.example", 1.0).wait == pytest.approx(
        beyond.wait, abs=0.1
    )  # ... so no drift


def test_a_booking_is_spent_only_on_its_own_host(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    assert acquire_slot(redis_client, keys, "b.example", 0.2).go
    for_b = acquire_slot(redis_client, keys, "b.example", 0.2).booking
    assert for_b is not None
    assert acquire_slot(redis_client, keys, "a.example", 5.0).go
    time.sleep(0.25)
    # On host a, b's booking is nothing: a's own limit applies (busy for 5 s).
    on_a = acquire_slot(redis_client, keys, "a.example", 5.0, booking=for_b)
    assert on_a.wait > 4.0 and on_a.booking is not None and on_a.booking.host == "a.example"
    assert acquire_slot(redis_client, keys, "b.example", 0.2, booking=for_b).go


def test_a_booking_not_yet_due_is_kept(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    assert acquire_slot(redis_client, keys, "ex.com", 1.0).go
    booked = acquire_slot(redis_client, keys, "ex.com", 1.0).booking
    assert booked is not None
    early = acquire_slot(redis_client, keys, "ex.com", 1.0, booking=booked)
    assert early.booking == booked and 0.5 < early.wait <= 1.0


def test_booking_message_round_trip() -> None:
    booking = Booking("ex.com:8080", 1700000000.25, "http://ex.com:8080/a")
    assert Booking.from_message(booking.to_message()) == booking
    assert Booking.from_message(Booking("ex.com", 1.0).to_message()) == Booking("ex.com", 1.0)
    for junk in (None, "x", {}, {"host": "ex.com"}, {"host": 3, "at": 1.0}, {"host": "", "at": 1}):
        assert Booking.from_message(junk) is None


def _hammer(redis_client: Any, keys: Keys, rate: float, seconds: float, threads: int) -> list[float]:
    """Callers that book, then come back late by a random amount, sometimes after a stall."""
    starts: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def caller(seed: int) -> None:
        rng = random.Random(seed)
        booking: Booking | None = None
        while time.monotonic() < deadline:
            grant = acquire_slot(redis_client, keys, "host.example", 1.0 / rate, booking=booking)
            if grant.go:
                assert grant.started is not None
                with lock:
                    starts.append(grant.started)
                booking = None
                time.sleep(rng.random() * 0.01)
                continue
            booking = grant.booking
            late = rng.choice([0.0, 0.0, rng.random() * 0.05, rng.random() * 0.5])  # stalls too
            time.sleep(max(0.0, grant.wait) + late if grant.wait > 0 else 1.0)

    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sorted(starts)


@pytest.mark.parametrize("rate", [1.0, 5.0, 20.0])
def test_late_bookings_never_break_the_bound(redis_client: Any, unique_name: str, rate: float) -> None:
    keys = Keys(unique_name)
    starts = _hammer(redis_client, keys, rate, seconds=4.0, threads=12)
    assert len(starts) >= 2
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    gap = min(b - a for a, b in itertools.pairwise(starts))
    assert busiest <= rate + 1
    assert gap >= 0.5 / rate
