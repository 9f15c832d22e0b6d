"""The generated site's server: pages over loopback, the access log, and the fault switches."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from tests.sitegen import serve

pytestmark = pytest.mark.integration


def _get(
    base: str, path: str, timeout: float = 5.0, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def test_serves_pages_and_logs_every_request() -> None:
    with serve(articles=30, seed=2) as site:
        article = site.articles[0]
        status, body, _ = _get(site.base_url, article.path)
        assert status == 200 and article.title.encode() in body
        assert (
            _get(site.base_url, "/robots.txt")[1].decode().endswith(f"Sitemap: {site.base_url}/sitemap.xml\n")
        )
        assert _get(site.base_url, "/no/such/page")[0] == 404
        assert (
            _get(site.base_url, "/", headers={"If-None-Match": _get(site.base_url, "/")[2]["etag"]})[0] == 304
        )
        assert [e.path for e in site.access_log.entries()][:2] == [article.path, "/robots.txt"]


def test_fault_switches_fail_and_hang_article_requests_only() -> None:
    with serve(articles=30, seed=2) as site:
        path = site.articles[3].path
        site.faults.error(1.0, seconds=30, status=503)
        assert _get(site.base_url, path)[0] == 503
        assert _get(site.base_url, "/")[0] == 200  # listings are not touched
        site.faults.clear()
        site.faults.hang(1.0, seconds=30, hang_seconds=5)
        with pytest.raises((TimeoutError, socket.timeout)):
            _get(site.base_url, path, timeout=0.5)
        site.faults.clear()
        assert _get(site.base_url, path)[0] == 200
        site.faults.error(0.3, seconds=0.2)
        time.sleep(0.3)  # the window has passed
        assert all(_get(site.base_url, path)[0] == 200 for _ in range(10))
        statuses = [e.status for e in site.access_log.entries()]
        assert 503 in statuses and 0 in statuses


def test_fraction_is_roughly_honoured() -> None:
    with serve(articles=30, seed=2) as site:
        site.faults.error(0.3, seconds=60)
        codes = [_get(site.base_url, site.articles[i % 30].path)[0] for i in range(200)]
        assert 30 <= codes.count(500) <= 90
