"""Which publication date an article gets, and where it came from.

Order of trust: the page's own metadata, the feed entry, a date in the URL,
and last the fetch time. A candidate later than the fetch time (plus a little
clock skew) is rejected: it is a template bug, a time-zone slip or an event
date, never a publication date. Candidates before 1990 are rejected too
(epoch zero and similar placeholders).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal

DateSource = Literal["page", "feed", "url", "fetch_time"]

# Servers and our workers disagree by seconds to minutes; an hour also absorbs
# a page that states local time without a zone, read as UTC.
MAX_CLOCK_SKEW = timedelta(hours=1)
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)

# /2024/05/17/, /2024-05-17/, /20240517/ and /2024/05/ between path separators.
_URL_DATE = re.compile(
    r"(?<![0-9])(?P<y>(?:19|20)\d{2})(?P<s>[/_-]?)(?P<m>0[1-9]|1[0-2])"
    r"(?:(?P=s)(?P<d>0[1-9]|[12]\d|3[01]))?(?![0-9])"
)


def to_utc(value: datetime) -> datetime:
    """Tz-aware UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def date_from_url(url: str) -> datetime | None:
    """The date written into an article URL's path (midnight UTC), if any.

    A year and month alone count (the first of the month); a bare number
    without separators needs the day too, so ids like ``/201705`` are not dates.
    """
    path = url.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1].partition("/")[2]
    for match in _URL_DATE.finditer(path):
        if not match.group("s") and not match.group("d"):
            continue
        try:
            return datetime(
                int(match.group("y")),
                int(match.group("m")),
                int(match.group("d") or 1),
                tzinfo=UTC,
            )
        except ValueError:
            continue
    return None


def choose_published_at(
    page: datetime | None,
    feed: datetime | None,
    url_date: datetime | None,
    fetched_at: datetime,
) -> tuple[datetime, DateSource]:
    """The most trusted plausible publication date, as tz-aware UTC, and its source."""
    fetched = to_utc(fetched_at)
    latest = fetched + MAX_CLOCK_SKEW
    candidates: tuple[tuple[datetime | None, DateSource], ...] = (
        (page, "page"),
        (feed, "feed"),
        (url_date, "url"),
    )
    for value, source in candidates:
        if value is None:
            continue
        when = to_utc(value)
        if _EARLIEST <= when <= latest:
            return when, source
    return fetched, "fetch_time"
