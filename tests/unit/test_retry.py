from __future__ import annotations

import pytest

from shared.errors import Reason, RetryableError
from shared.retry import MAX_DELAY_SECONDS, RetryPolicy, backoff_seconds, delay_seconds
from shared.settings import Settings

POLICY = RetryPolicy(max_attempts=5, max_waits=100, base_seconds=2.0, cap_seconds=300.0, jitter=0.25)


def test_backoff_grows_exponentially_and_is_capped() -> None:
    assert [backoff_seconds(a, base=1.0) for a in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_seconds(30, base=1.0, cap=300.0) == 300.0
    assert backoff_seconds(2, base=1.0, jitter=0.5) == 6.0


@pytest.mark.parametrize(
    ("exc", "attempt", "jitter", "expected"),
    [
        # Retry-After (the site's 429/503), plus up to a quarter more.
        (RetryableError(Reason.RATE_LIMITED, retry_after=8.0), 0, 0.5, 9.0),
        # No hint: exponential backoff from 2 s.
        (RetryableError(Reason.TIMEOUT), 0, 0.0, 2.0),
        (RetryableError(Reason.HTTP_5XX), 3, 1.0, 20.0),
        # Capped by the policy, then stretched by jitter.
        (RetryableError(Reason.HTTP_5XX), 20, 1.0, 375.0),
        # Never beyond the hard limit, whatever the site asks.
        (RetryableError(Reason.RATE_LIMITED, retry_after=50_000.0), 0, 0.0, MAX_DELAY_SECONDS),
    ],
)
def test_delay_seconds(exc: RetryableError, attempt: int, jitter: float, expected: float) -> None:
    assert delay_seconds(POLICY, exc, attempt, jitter) == pytest.approx(expected)


def test_each_stage_has_its_own_policy_from_settings() -> None:
    settings = Settings(crawl_retry_max_attempts=1, extract_retry_max_waits=7, extract_retry_jitter=0.0)
    assert RetryPolicy.for_stage(settings, "crawl").max_attempts == 1
    extract = RetryPolicy.for_stage(settings, "extract")
    assert (extract.max_attempts, extract.max_waits, extract.jitter) == (5, 7, 0.0)
