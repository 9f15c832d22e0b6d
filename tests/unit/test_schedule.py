"""Adaptive polling intervals stay within bounds and follow the source's yield."""

from __future__ import annotations

import pytest

from services.crawler.schedule import PollBounds, next_interval

B = PollBounds(60.0, 3600.0)


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, 0, 90.0),  # first empty round: min x 1.5
        (None, 5, 60.0),
        (600.0, 0, 900.0),
        (600.0, 8, 150.0),
        (600.0, 2, 600.0),
        (600.0, 1, 600.0),  # a trickle keeps the pace, never slows it
        (3000.0, 0, 3600.0),  # capped at max
        (61.0, 100, 60.0),  # floored at min
        (-5.0, 0, 90.0),
    ],
)
def test_next_interval(current: float | None, new: int, expected: float) -> None:
    assert next_interval(current, new, B) == pytest.approx(expected)


def test_busy_source_converges_to_min_and_quiet_one_to_max() -> None:
    busy = quiet = None
    for _ in range(30):
        busy = next_interval(busy, 10, B)
        quiet = next_interval(quiet, 0, B)
    assert busy == 60.0 and quiet == 3600.0
