"""DNS rebinding: the client connects to the address that was checked, keeping the Host header.

A name that resolves to a public address when checked and to loopback a moment later (the
rebinding trick) must never reach loopback. The resolver is replaced in-process; the HTTP
server is a real one on 127.0.0.1, and no traffic leaves the machine.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared import fetch as fetch_module
from shared.errors import PermanentError, Reason
from shared.fetch import FetchOptions, fetch, make_http_client


class _Handler(BaseHTTPRequestHandler):
    hosts: list[str] = []

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers.get("Host", ""))
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[int]:
    _Handler.hosts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _answers(monkeypatch: pytest.MonkeyPatch, host: str, addresses: list[str]) -> list[str]:
    """Make ``host`` resolve to the next address of ``addresses`` on each lookup."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(name: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if name != host:
            return real(name, port, *args, **kwargs)
        ip = addresses[min(len(asked), len(addresses) - 1)]
        asked.append(ip)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))]

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", fake)
    return asked


def test_a_rebinding_name_never_reaches_loopback(
    monkeypatch: pytest.MonkeyPatch, loopback_server: int
) -> None:
    asked = _answers(monkeypatch, "rebind.test", ["93.184.216.34", "127.0.0.1"])
    options = FetchOptions(user_agent="newsflow-test")
    with make_http_client(options) as client, pytest.raises(PermanentError) as err:
        fetch(client, f"http://rebind.test:{loopback_server}/", options)
    assert err.value.reason is Reason.PRIVATE_ADDRESS
    assert asked == ["93.184.216.34", "127.0.0.1"]  # checked, then re-resolved at connect
    assert _Handler.hosts == []  # nothing reached the loopback server


def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    monkeypatch: pytest.MonkeyPatch, loopback_server: int
) -> None:
    _answers(monkeypatch, "pinned.test", ["127.0.0.1"])
    options = FetchOptions(user_agent="newsflow-test", allowed_private_hosts=("pinned.test",))
    with make_http_client(options) as client:
        result = fetch(client, f"http://pinned.test:{loopback_server}/page", options)
    assert result.status == 200 and b"hello" in result.content
    assert _Handler.hosts == [f"pinned.test:{loopback_server}"]
