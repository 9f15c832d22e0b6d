from __future__ import annotations

import pytest

from shared.celery_app import MAX_COUNTDOWN_SECONDS
from shared.errors import Reason, RetryableError
from shared.retry import backoff_seconds, retry_countdown


def test_backoff_grows_exponentially_and_is_capped() -> None:
    assert [backoff_seconds(a, base=1.0) for a in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_seconds(30, base=1.0, cap=300.0) == 300.0
    assert backoff_seconds(2, base=1.0, jitter=0.5) == 6.0


@pytest.mark.parametrize(
    ("exc", "attempt", "jitter", "expected"),
    [
        # A booked slot is kept to the moment, whatever the jitter.
        (RetryableError(Reason.RATE_LIMITED, retry_after=3.5, slot_reserved=True), 4, 0.9, 3.5),
        # Retry-After, plus up to a quarter more.
        (RetryableError(Reason.RATE_LIMITED, retry_after=8.0), 0, 0.5, 9.0),
        # No hint: exponential backoff from 2 s.
        (RetryableError(Reason.TIMEOUT), 0, 0.0, 2.0),
        (RetryableError(Reason.HTTP_5XX), 3, 1.0, 20.0),
        # Never beyond the broker's countdown limit.
        (RetryableError(Reason.RATE_LIMITED, retry_after=5000.0), 0, 0.0, MAX_COUNTDOWN_SECONDS),
    ],
)
def test_retry_countdown(exc: RetryableError, attempt: int, jitter: float, expected: float) -> None:
    assert retry_countdown(exc, attempt, jitter) == pytest.approx(expected)
