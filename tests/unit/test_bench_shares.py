"""The bench's ceiling arithmetic (scripts/bench_e2e.py): extraction's share of the stack's CPU."""

import pytest

from scripts.bench_e2e import extraction_shares


def test_shares_measured_and_with_a_worker_that_only_extracts() -> None:
    cpu_ms = {"worker": 30.0, "elasticsearch": 3.0, "redis": 2.0, "crawler": 1.0, "indexer": 1.0, "site": 1.0}
    now, best = extraction_shares(15.0, cpu_ms)
    assert now == pytest.approx(15.0 / 38.0)
    # The worker's 30 ms become the 15 ms of extraction; the rest (8 ms) stays.
    assert best == pytest.approx(15.0 / 23.0)


def test_a_stack_with_nothing_but_the_worker_has_ceiling_one() -> None:
    now, best = extraction_shares(10.0, {"worker": 20.0})
    assert (now, best) == (pytest.approx(0.5), pytest.approx(1.0))
