"""The seen-set that remembers outcomes, on the real Redis: transient failures come back with
backoff and a bound, permanent ones stay final, lost messages are noticed, done articles are
due their recrawls."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import Reason
from shared.keys import Keys
from shared.seen import SeenPolicy, Settle, claim_new_many, settle, state_of, take_due

pytestmark = pytest.mark.integration

POLICY = SeenPolicy(
    ttl_seconds=86400,
    lease_seconds=600,
    max_attempts=3,
    retry_base_seconds=60,
    not_found_grace_seconds=3600,
    recrawl_ages=(100.0, 1000.0),
)
T0 = 1_000_000.0
URL = "https://news.example/2025/10/20/story.html"


def _due(r: Any, keys: Keys, now: float) -> list[tuple[str, str]]:
    return [(d.url, d.kind) for d in take_due(r, keys, now, 100, POLICY)]


def test_transient_failures_come_back_with_backoff_then_become_final(
    redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    assert claim_new_many(redis_client, keys, "src", [URL], T0, POLICY) == [True]
    assert claim_new_many(redis_client, keys, "src", [URL], T0, POLICY) == [False]  # still claimed once
    assert (
        settle(redis_client, keys, URL, "src", "skipped", Reason.HTTP_4XX, T0 + 5, POLICY, status=403)
        is Settle.TRANSIENT
    )
    assert _due(redis_client, keys, T0 + 60) == []  # backoff: 60 s after the failure
    assert _due(redis_client, keys, T0 + 66) == [(URL, "retry")]
    assert _due(redis_client, keys, T0 + 67) == []  # leased: offered once
    assert (
        settle(redis_client, keys, URL, "src", "dead_letter", Reason.RETRIES_EXHAUSTED, T0 + 70, POLICY)
        is Settle.TRANSIENT
    )
    assert _due(redis_client, keys, T0 + 70 + 239) == []  # second wait is 4x: 240 s
    assert _due(redis_client, keys, T0 + 70 + 241) == [(URL, "retry")]
    # Third failure: the bound (max_attempts=3) is reached, the URL is final.
    assert settle(redis_client, keys, URL, "src", "skipped", Reason.TIMEOUT, T0 + 400, POLICY) is Settle.FINAL
    assert state_of(redis_client, keys, URL)[0] == "p"  # type: ignore[index]
    assert _due(redis_client, keys, T0 + 10**6) == []


def test_a_404_is_transient_only_in_the_first_hours(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    early, late = URL, URL.replace("story", "other")
    claim_new_many(redis_client, keys, "src", [early, late], T0, POLICY)
    assert (
        settle(redis_client, keys, early, "src", "skipped", Reason.HTTP_4XX, T0 + 60, POLICY, status=404)
        is Settle.TRANSIENT
    )
    assert (
        settle(redis_client, keys, late, "src", "skipped", Reason.HTTP_4XX, T0 + 4000, POLICY, status=404)
        is Settle.FINAL
    )
    assert (
        settle(redis_client, keys, URL + "?x", "src", "skipped", Reason.NOT_ARTICLE, T0, POLICY)
        is Settle.FINAL
    )


def test_a_lost_message_is_offered_again_after_its_lease(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    claim_new_many(redis_client, keys, "src", [URL], T0, POLICY)
    assert _due(redis_client, keys, T0 + 599) == []
    assert _due(redis_client, keys, T0 + 601) == [(URL, "lost")]
    assert _due(redis_client, keys, T0 + 1202) == [(URL, "lost")]  # lost again
    assert _due(redis_client, keys, T0 + 1803) == []  # third loss: the bound, final
    assert state_of(redis_client, keys, URL)[0] == "p"  # type: ignore[index]


def test_done_articles_are_due_their_recrawls_then_left_alone(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    claim_new_many(redis_client, keys, "src", [URL], T0, POLICY)
    assert settle(redis_client, keys, URL, "src", "extracted", None, T0 + 10, POLICY) is Settle.DONE
    assert _due(redis_client, keys, T0 + 109) == []
    assert _due(redis_client, keys, T0 + 111) == [(URL, "recrawl")]  # first fetch + 100 s
    # The recrawl's outcome (here a timeout) never undoes "done"; the next age stands.
    settle(redis_client, keys, URL, "src", "dead_letter", Reason.RETRIES_EXHAUSTED, T0 + 120, POLICY)
    assert state_of(redis_client, keys, URL)[0] == "d"  # type: ignore[index]
    assert _due(redis_client, keys, T0 + 1009) == []
    assert _due(redis_client, keys, T0 + 1011) == [(URL, "recrawl")]  # first fetch + 1000 s
    settle(redis_client, keys, URL, "src", "extracted", None, T0 + 1020, POLICY)
    assert _due(redis_client, keys, T0 + 10**6) == []  # no more ages: nothing further
    assert redis_client.zcard(keys.seen_due) == 0


def test_backfill_schedules_no_recrawl(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    claim_new_many(redis_client, keys, "src", [URL], T0, POLICY)
    settle(redis_client, keys, URL, "src", "extracted", None, T0 + 10, POLICY, recrawl=False)
    assert redis_client.zcard(keys.seen_due) == 0


def test_recrawls_carry_the_last_fetchs_validators(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    claim_new_many(redis_client, keys, "src", [URL], T0, POLICY)
    settle(
        redis_client,
        keys,
        URL,
        "src",
        "extracted",
        None,
        T0,
        POLICY,
        etag='"v1"',
        last_modified="Thu, 16 Oct 2025",
    )
    (due,) = take_due(redis_client, keys, T0 + 101, 10, POLICY)
    assert (due.kind, due.etag, due.last_modified) == ("recrawl", '"v1"', "Thu, 16 Oct 2025")
