"""The chaos suite's Elasticsearch proxy: passes requests through, answers 429 like a full
node, refuses connections like a stopped one, and calls its hook on the next bulk request."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.chaos.proxy import EsProxy

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_modes(elasticsearch_url: str) -> None:
    proxy = EsProxy(int(urlsplit(elasticsearch_url).port or 9200), _free_port())
    proxy.start()
    try:
        status, body = _get(proxy.url + "/_cluster/health")
        assert status == 200 and "status" in body
        proxy.set_mode("429")
        status, body = _get(proxy.url + "/_cluster/health")
        assert status == 429 and body["error"]["type"] == "es_rejected_execution_exception"  # type: ignore[index]
        proxy.set_mode("down")
        with pytest.raises(urllib.error.URLError):
            _get(proxy.url + "/_cluster/health")
        proxy.set_mode("pass")
        fired: list[bool] = []
        proxy.on_bulk = lambda: fired.append(True)
        req = urllib.request.Request(
            proxy.url + "/_bulk", data=b"\n", headers={"Content-Type": "application/x-ndjson"}, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError):  # an empty bulk body is a 400, after the hook
            urllib.request.urlopen(req, timeout=5)
        assert fired == [True] and proxy.on_bulk is None
        assert _get(proxy.url + "/_cluster/health")[0] == 200
    finally:
        proxy.stop()
