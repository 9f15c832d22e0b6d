"""Safe and polite fetching against the fixture site's normal and hostile routes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.errors import HostBusy, PermanentError, Reason, RetryableError
from shared.fetch import XML_TYPES, FetchOptions, fetch, make_http_client
from shared.keys import Keys
from shared.polite_fetch import Booking, polite_fetch
from tests.fixture_site import HOSTILE

pytestmark = pytest.mark.integration

OPTIONS = FetchOptions(
    user_agent="newsflow/0.1 (+https://example.org/contact)",
    connect_timeout=2.0,
    read_timeout=1.0,
    total_timeout=5.0,
    max_body_bytes=2_000_000,
    max_redirects=5,
    allowed_private_hosts=("127.0.0.1", "localhost"),
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_http_client(OPTIONS) as c:
        yield c


def test_fetch_article_with_validators(fixture_site: Any, client: httpx.Client) -> None:
    url = fixture_site.articles[0].url
    result = fetch(client, url, OPTIONS)
    assert result.status == 200 and not result.not_modified
    assert result.content_type == "text/html" and result.charset == "utf-8"
    assert b"<h1" in result.content and result.etag and result.last_modified
    again = fetch(client, url, OPTIONS, etag=result.etag, last_modified=result.last_modified)
    assert again.not_modified and again.status == 304 and again.content == b""
    sent = [e for e in fixture_site.access_log.entries() if e.path == fixture_site.articles[0].path]
    assert sent[-1].headers["if-none-match"] == result.etag
    assert sent[-1].headers["user-agent"] == OPTIONS.user_agent


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("redirect_loop", PermanentError, Reason.REDIRECT_LOOP),
        ("too_many_redirects", PermanentError, Reason.TOO_MANY_REDIRECTS),
        ("slow", RetryableError, Reason.TIMEOUT),
        ("huge", PermanentError, Reason.OVERSIZED),
        ("gzip_bomb", PermanentError, Reason.OVERSIZED),
        ("rate_limited", RetryableError, Reason.RATE_LIMITED),
        ("server_error", RetryableError, Reason.HTTP_5XX),
        ("gone", PermanentError, Reason.HTTP_4XX),
        ("not_html", PermanentError, Reason.NOT_HTML),
        ("private_address", PermanentError, Reason.PRIVATE_ADDRESS),
        ("metadata_address", PermanentError, Reason.PRIVATE_ADDRESS),
    ],
)
def test_hostile_routes_fail_with_their_reason(
    fixture_site: Any, client: httpx.Client, name: str, error: type[Exception], reason: Reason
) -> None:
    path = HOSTILE[name]
    url = path if path.startswith("http") else fixture_site.url(path)
    started = time.monotonic()
    with pytest.raises(error) as err:
        fetch(client, url, OPTIONS)
    assert err.value.reason is reason  # type: ignore[attr-defined]
    assert time.monotonic() - started < OPTIONS.total_timeout + 1
    if name == "rate_limited":
        assert err.value.retry_after == 2.0  # type: ignore[attr-defined]


def test_sitemap_without_length_is_cut_while_streaming(fixture_site: Any, client: httpx.Client) -> None:
    with pytest.raises(PermanentError) as err:
        fetch(client, fixture_site.url(HOSTILE["huge_sitemap"]), OPTIONS, content_types=XML_TYPES)
    assert err.value.reason is Reason.OVERSIZED


def test_polite_fetch_honours_robots_and_caches_it(
    fixture_site: Any, client: httpx.Client, redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    kw = {"robots_ttl": 60.0, "default_rate": 100.0}
    with pytest.raises(PermanentError) as err:
        polite_fetch(client, redis_client, keys, fixture_site.url(HOSTILE["disallowed"]), OPTIONS, **kw)
    assert err.value.reason is Reason.DISALLOWED_BY_ROBOTS
    assert redis_client.ttl(keys.robots(fixture_site.host)) > 0
    robots_requests = len([e for e in fixture_site.access_log if e.path == "/robots.txt"])
    time.sleep(0.02)
    polite_fetch(client, redis_client, keys, fixture_site.articles[1].url, OPTIONS, **kw)
    assert len([e for e in fixture_site.access_log if e.path == "/robots.txt"]) == robots_requests
    assert not any(e.path == HOSTILE["disallowed"] for e in fixture_site.access_log)


def test_polite_fetch_waits_for_the_host_slot(
    fixture_site: Any, client: httpx.Client, redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    kw = {"robots_ttl": 60.0, "default_rate": 2.0}
    with pytest.raises(HostBusy) as err:  # robots.txt took the slot
        polite_fetch(client, redis_client, keys, fixture_site.articles[0].url, OPTIONS, **kw)
    assert err.value.reason is Reason.HOST_BUSY and err.value.host == fixture_site.host
    assert 0 < err.value.wait <= 0.5
    assert err.value.booked  # ... and booked the next one for this call's retry
    time.sleep(err.value.wait)
    again = polite_fetch(
        client,
        redis_client,
        keys,
        fixture_site.articles[0].url,
        OPTIONS,
        booking=Booking(err.value.host),
        **kw,
    )
    assert again.status == 200


def test_429_pushes_the_whole_host_back(
    fixture_site: Any, client: httpx.Client, redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    kw = {"robots_ttl": 60.0, "default_rate": 100.0}
    redis_client.set(keys.robots(fixture_site.host), '{"status": "allow_all", "text": ""}', ex=60)
    with pytest.raises(RetryableError) as err:
        polite_fetch(client, redis_client, keys, fixture_site.url(HOSTILE["rate_limited"]), OPTIONS, **kw)
    assert err.value.reason is Reason.RATE_LIMITED and err.value.detail == "HTTP 429"
    with pytest.raises(HostBusy) as busy:  # the site's Retry-After holds back our own slots
        polite_fetch(client, redis_client, keys, fixture_site.articles[0].url, OPTIONS, **kw)
    assert busy.value.reason is Reason.HOST_BUSY
    assert 1.0 < busy.value.wait <= 2.0


def test_robots_5xx_means_wait_and_4xx_means_allowed(
    fixture_site: Any, client: httpx.Client, redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    kw = {"robots_ttl": 60.0, "default_rate": 100.0}
    article = fixture_site.plain_articles[0]
    with fixture_site.override("/robots.txt", 503, b"down", server="plain"):
        with pytest.raises(RetryableError) as err:
            polite_fetch(client, redis_client, keys, article.url, OPTIONS, **kw)
        assert err.value.reason is Reason.HTTP_5XX and err.value.retry_after
        assert not any(e.path == article.path for e in fixture_site.access_log)
        # Cached as unreachable: no second robots.txt request while it lasts.
        with pytest.raises(RetryableError):
            polite_fetch(client, redis_client, keys, article.url, OPTIONS, **kw)
    redis_client.delete(keys.robots(fixture_site.plain_base_url.split("//")[1]))
    time.sleep(0.02)
    polite_fetch_ok, booked = None, None
    for _ in range(3):  # plain robots.txt is a 404: everything allowed
        try:
            polite_fetch_ok = polite_fetch(
                client, redis_client, keys, article.url, OPTIONS, booking=Booking(booked), **kw
            )
            break
        except HostBusy as exc:
            booked = exc.host if exc.booked else None
            time.sleep(exc.wait or 0.05)
    assert polite_fetch_ok is not None and polite_fetch_ok.status == 200


def test_crawl_delay_slows_the_host(
    fixture_site: Any, client: httpx.Client, redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    kw = {"robots_ttl": 60.0, "default_rate": 100.0}
    robots = b"User-agent: *\nCrawl-delay: 1.5\n"
    with (
        fixture_site.override("/robots.txt", 200, robots, {"Content-Type": "text/plain"}, server="plain"),
        pytest.raises(HostBusy) as first,
    ):
        polite_fetch(client, redis_client, keys, fixture_site.plain_articles[0].url, OPTIONS, **kw)
    # robots.txt took the first slot (before its Crawl-delay was known); the article's is booked.
    assert first.value.booked
    time.sleep(first.value.wait)
    polite_fetch(
        client,
        redis_client,
        keys,
        fixture_site.plain_articles[0].url,
        OPTIONS,
        booking=Booking(first.value.host),
        **kw,
    )
    with pytest.raises(HostBusy) as err:
        polite_fetch(client, redis_client, keys, fixture_site.plain_articles[1].url, OPTIONS, **kw)
    assert 1.0 < err.value.wait <= 1.5


def test_redirect_to_another_host_obeys_that_hosts_robots_and_limit(
    fixture_site: Any, client: httpx.Client, redis_client: Any, unique_name: str
) -> None:
    keys = Keys(unique_name)
    kw = {"robots_ttl": 60.0, "default_rate": 100.0}
    target = fixture_site.plain_articles[0]
    hop = {"Location": target.url}
    robots = b"User-agent: *\nDisallow: /stories/\n"
    started = time.time()
    with (
        fixture_site.override("/go/elsewhere.html", 302, b"", hop),
        fixture_site.override("/robots.txt", 200, robots, server="plain"),
    ):
        booked = None
        for _ in range(5):
            try:
                polite_fetch(
                    client,
                    redis_client,
                    keys,
                    fixture_site.url("/go/elsewhere.html"),
                    OPTIONS,
                    booking=Booking(booked),
                    **kw,
                )
            except HostBusy as exc:  # a host slot (main, then plain robots.txt)
                booked = exc.host if exc.booked else None
                time.sleep(exc.wait or 0.05)
                continue
            except PermanentError as exc:
                assert exc.reason is Reason.DISALLOWED_BY_ROBOTS
                break
        else:
            pytest.fail("never reached the redirect target's robots.txt")
    plain = fixture_site.access_log.paths(since=started, server="plain")
    assert "/robots.txt" in plain and target.path not in plain
    assert redis_client.exists(keys.robots(target.url.split("//")[1].split("/")[0]))
