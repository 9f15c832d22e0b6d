"""choose_published_at and date_from_url."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.worker.dates import MAX_CLOCK_SKEW, choose_published_at, date_from_url, to_utc

FETCHED = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
PAGE = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
FEED = datetime(2024, 5, 17, 9, 45, tzinfo=UTC)
URL = datetime(2024, 5, 16, tzinfo=UTC)
FUTURE = FETCHED + MAX_CLOCK_SKEW + timedelta(minutes=1)
ANCIENT = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("page", "feed", "url_date", "expected"),
    [
        (PAGE, FEED, URL, (PAGE, "page")),
        (None, FEED, URL, (FEED, "feed")),
        (None, None, URL, (URL, "url")),
        (None, None, None, (FETCHED, "fetch_time")),
        # a date in the future is rejected, whichever source it comes from
        (FUTURE, FEED, URL, (FEED, "feed")),
        (FUTURE, FUTURE, URL, (URL, "url")),
        (FUTURE, FUTURE, FUTURE, (FETCHED, "fetch_time")),
        # placeholder dates (epoch zero) are rejected too
        (ANCIENT, None, URL, (URL, "url")),
        # within the allowed clock skew is fine
        (FETCHED + timedelta(minutes=30), FEED, None, (FETCHED + timedelta(minutes=30), "page")),
    ],
)
def test_choose_published_at(page, feed, url_date, expected):
    assert choose_published_at(page, feed, url_date, FETCHED) == expected


def test_results_are_utc_and_offsets_are_converted():
    moscow = timezone(timedelta(hours=3))
    when, source = choose_published_at(datetime(2024, 5, 17, 14, 0, tzinfo=moscow), None, None, FETCHED)
    assert (when, source) == (datetime(2024, 5, 17, 11, 0, tzinfo=UTC), "page")
    assert when.tzinfo is UTC


def test_future_check_respects_time_zones():
    # 14:30 at UTC+3 is 11:30 UTC: before the fetch, although the wall-clock hour is later
    east = timezone(timedelta(hours=3))
    page = datetime(2024, 5, 17, 14, 30, tzinfo=east)
    assert choose_published_at(page, None, None, FETCHED)[1] == "page"
    # 14:30 at UTC-3 is 17:30 UTC: in the future
    west = timezone(timedelta(hours=-3))
    assert choose_published_at(page.replace(tzinfo=west), None, None, FETCHED)[1] == "fetch_time"


def test_naive_inputs_are_taken_as_utc():
    when, source = choose_published_at(datetime(2024, 5, 17, 9, 30), None, None, datetime(2024, 5, 17, 12))
    assert (when, source) == (PAGE, "page")
    assert to_utc(datetime(2024, 1, 1)).tzinfo is UTC


def test_fetch_time_fallback_is_utc():
    fetched = datetime(2024, 5, 17, 15, 0, tzinfo=timezone(timedelta(hours=3)))
    assert choose_published_at(None, None, None, fetched) == (FETCHED, "fetch_time")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/2024/05/16/bridge-opens", datetime(2024, 5, 16, tzinfo=UTC)),
        ("https://news.example/world/2023-11-02/summit.html", datetime(2023, 11, 2, tzinfo=UTC)),
        ("https://news.example/20220131/story", datetime(2022, 1, 31, tzinfo=UTC)),
        ("https://news.example/2021/07/weekly-roundup", datetime(2021, 7, 1, tzinfo=UTC)),
        ("https://news.example/story/123456789", None),
        ("https://news.example/story/201705", None),  # an id, not a date
        ("https://news.example/2024/13/45/bad", None),
        ("https://news.example/2024/02/30/no-such-day", None),
        ("https://2024.example/story", None),  # host is not the path
        ("https://news.example/story?date=2024/05/16", None),  # query is not the path
    ],
)
def test_date_from_url(url, expected):
    assert date_from_url(url) == expected
