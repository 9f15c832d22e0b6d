"""Pure parts of shared/fetch.py: header parsing and the SSRF address rule (IP literals only)."""

from __future__ import annotations

import pytest

from shared.errors import PermanentError, Reason
from shared.fetch import FetchOptions, check_host, parse_content_type, parse_retry_after

OPTS = FetchOptions(user_agent="newsflow/0.1 (+https://x)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/html; charset=UTF-8", ("text/html", "utf-8")),
        ('text/html; charset="windows-1251"', ("text/html", "windows-1251")),
        ("Application/RSS+XML", ("application/rss+xml", None)),
        (None, (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_content_type(value: str | None, expected: tuple[str | None, str | None]) -> None:
    assert parse_content_type(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("999999", 3600.0),
        ("Thu, 01 Jan 1970 00:00:10 GMT", 5.0),
        ("garbage", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=5.0) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.255.255.1/news/x.html",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(PermanentError) as err:
        check_host(url, OPTS)
    assert err.value.reason is Reason.PRIVATE_ADDRESS


def test_allow_list_by_host_and_cidr() -> None:
    check_host("http://127.0.0.1:8080/", FetchOptions(user_agent="x", allowed_private_hosts=("127.0.0.1",)))
    check_host("http://10.1.2.3/", FetchOptions(user_agent="x", allowed_private_hosts=("10.0.0.0/8",)))
    with pytest.raises(PermanentError):
        check_host("http://10.1.2.3/", FetchOptions(user_agent="x", allowed_private_hosts=("127.0.0.1",)))


@pytest.mark.parametrize(
    ("url", "reason"), [("ftp://ex.com/", Reason.BAD_SCHEME), ("http:///x", Reason.BAD_URL)]
)
def test_bad_urls(url: str, reason: Reason) -> None:
    with pytest.raises(PermanentError) as err:
        check_host(url, OPTS)
    assert err.value.reason is reason


@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254 (metadata)
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[64:ff9b:1::c0a8:101]/",  # local-use NAT64 of 192.168.1.1
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
    ],
)
def test_ipv6_forms_embedding_private_ipv4_are_refused(url: str) -> None:
    with pytest.raises(PermanentError) as err:
        check_host(url, OPTS)
    assert err.value.reason is Reason.PRIVATE_ADDRESS


@pytest.mark.parametrize(
    "url", ["http://[2002:808:808::1]/", "http://[64:ff9b::808:808]/", "http://8.8.8.8/"]
)
def test_ipv6_forms_embedding_public_ipv4_pass(url: str) -> None:
    check_host(url, OPTS)
