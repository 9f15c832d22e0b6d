"""How the seen-set reads outcomes: done, failed for now, or final (pure)."""

from __future__ import annotations

import pytest

from shared.errors import Reason
from shared.seen import SeenPolicy, Settle, classify, http_status, retry_delay

POLICY = SeenPolicy(not_found_grace_seconds=6 * 3600)
HOUR = 3600.0


@pytest.mark.parametrize(
    ("outcome", "reason", "status", "age", "expected"),
    [
        ("extracted", None, None, 0, Settle.DONE),
        ("unchanged", Reason.UNCHANGED, None, 0, Settle.DONE),
        ("dead_letter", Reason.RETRIES_EXHAUSTED, None, 0, Settle.TRANSIENT),  # 5xx, timeouts
        ("skipped", Reason.TIMEOUT, None, 0, Settle.TRANSIENT),
        ("skipped", Reason.HTTP_4XX, 403, 10 * 24 * HOUR, Settle.TRANSIENT),  # a bot wall
        ("skipped", Reason.HTTP_4XX, 404, 1 * HOUR, Settle.TRANSIENT),  # not published yet
        ("skipped", Reason.HTTP_4XX, 404, 7 * HOUR, Settle.FINAL),  # gone for good
        ("skipped", Reason.HTTP_4XX, 410, 8 * HOUR, Settle.FINAL),
        ("skipped", Reason.HTTP_4XX, 400, 0, Settle.FINAL),
        ("skipped", Reason.NOT_ARTICLE, None, 0, Settle.FINAL),
        ("skipped", Reason.DISALLOWED_BY_ROBOTS, None, 0, Settle.FINAL),
        ("skipped", Reason.NOINDEX, None, 0, Settle.FINAL),
        ("dead_letter", Reason.INTERNAL_ERROR, None, 0, Settle.FINAL),  # a bug: the DLQ replays it
    ],
)
def test_classify(
    outcome: str, reason: Reason | None, status: int | None, age: float, expected: Settle
) -> None:
    assert classify(outcome, reason, status=status, age_seconds=age, policy=POLICY) is expected


def test_backoff_grows_and_is_capped() -> None:
    delays = [retry_delay(n, POLICY) for n in range(1, 7)]
    assert delays[:4] == [900.0, 3600.0, 14400.0, 57600.0]
    assert delays[4:] == [86400.0, 86400.0]


@pytest.mark.parametrize(
    ("detail", "status"), [("HTTP 404", 404), ("HTTP 503", 503), ("timeout", None), ("", None)]
)
def test_http_status_from_detail(detail: str, status: int | None) -> None:
    assert http_status(detail) == status


def test_only_recent_articles_are_recrawled() -> None:
    policy = SeenPolicy(recrawl_max_age_seconds=7 * 86400)
    now = 1_800_000_000.0
    assert policy.recrawls(now - 3600, now)
    assert not policy.recrawls(now - 30 * 86400, now)  # an archive page
    assert policy.recrawls(None, now)  # no date known: recrawl
    assert SeenPolicy(recrawl_max_age_seconds=0).recrawls(now - 10**8, now)
