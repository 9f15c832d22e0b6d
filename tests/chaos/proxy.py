"""A small HTTP proxy in front of Elasticsearch, with fault modes flipped at runtime.

The services talk to Elasticsearch through it; the chaos suite switches its ``mode``:

* ``pass``: forward every request (keep-alive on both sides).
* ``429``: answer every request with HTTP 429 and Elasticsearch's own rejection body
  (``es_rejected_execution_exception``), as a node whose write queue is full does.
* ``down``: close the listening socket and every open connection, so clients get
  "connection refused" exactly as from a stopped node (Elasticsearch itself keeps running).

``on_bulk`` (a callable) is called once, in the handler thread, when the next ``_bulk``
request arrives and before it is forwarded: the suite uses it to kill the indexer in the
middle of a bulk request.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_REJECTED = json.dumps(
    {
        "error": {
            "root_cause": [{"type": "es_rejected_execution_exception", "reason": "chaos: queue full"}],
            "type": "es_rejected_execution_exception",
            "reason": "chaos: rejected execution (queue capacity 0)",
        },
        "status": 429,
    }
).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients and upstream drop connections here on purpose


class EsProxy:
    def __init__(self, upstream_port: int, port: int) -> None:
        self.upstream_port = upstream_port
        self.port = port
        self.mode = "pass"
        self.on_bulk: Callable[[], None] | None = None
        self.requests = 0
        self.rejected = 0
        self.bulks = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            self._server = _Server(("127.0.0.1", self.port), self._handler())
            self._thread = threading.Thread(target=self._server.serve_forever, name="es-proxy", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            sockets, self._sockets = self._sockets, set()
        if server is not None:
            server.shutdown()
            server.server_close()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()

    def set_mode(self, mode: str) -> None:
        assert mode in ("pass", "429", "down"), mode
        self.mode = mode
        if mode == "down":
            self.stop()
        else:
            self.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._sockets.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._sockets.discard(self.connection)
                upstream = getattr(self, "_upstream", None)
                if upstream is not None:
                    upstream.close()
                with suppress(OSError):
                    super().finish()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.requests += 1
                if proxy.mode == "429":
                    proxy.rejected += 1
                    self._reply(429, {"Content-Type": "application/json"}, _REJECTED)
                    return
                if "/_bulk" in self.path:
                    proxy.bulks += 1
                    hook, proxy.on_bulk = proxy.on_bulk, None
                    if hook is not None:
                        hook()
                upstream = getattr(self, "_upstream", None)
                if upstream is None:
                    upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                    self._upstream = upstream
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException):
                    upstream.close()
                    self._upstream = None
                    self.close_connection = True  # the client sees a dropped connection
                    return
                out = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP | {"content-length"}}
                self._reply(resp.status, out, data)

            def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        return Handler
