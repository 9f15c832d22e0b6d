"""deploy/kibana/import.sh against a stand-in for Kibana's HTTP API on 127.0.0.1.

The stand-in answers the two endpoints the script uses (GET /api/status, POST
/api/saved_objects/_import) the way Kibana 9.x documents them, and records what it was sent.
It checks the script's side of the contract (waiting, headers, multipart upload, overwrite,
failing loudly), not Kibana's acceptance of the objects: that needs a real Kibana.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kibana" / "import.sh"
NDJSON = ROOT / "deploy" / "kibana" / "newsflow.ndjson"
HEALTH_NDJSON = ROOT / "deploy" / "kibana" / "source-health.ndjson"


@dataclass
class FakeKibana:
    url: str = ""
    unavailable_polls: int = 0  # answer 503 to this many status polls first
    import_answer: dict[str, Any] = field(default_factory=lambda: {"success": True, "successCount": 10})
    status_polls: int = 0
    imports: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != "/api/status":
                self._reply(404, {})
                return
            fake.status_polls += 1
            if fake.status_polls <= fake.unavailable_polls:
                self._reply(503, {"status": {"overall": {"level": "unavailable"}}})
            else:
                self._reply(200, {"status": {"overall": {"level": "available"}}})

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            fake.imports.append(
                {
                    "path": self.path,
                    "headers": {key.lower(): value for key, value in self.headers.items()},
                    "body": self.rfile.read(length).decode("utf-8"),
                }
            )
            self._reply(200, fake.import_answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def run_import(kibana: FakeKibana, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ["PATH"],
        "KIBANA_URL": kibana.url,
        "KIBANA_WAIT_SECONDS": "30",
        "KIBANA_POLL_SECONDS": "0.2",
        **env,
    }
    return subprocess.run([str(SCRIPT)], env=environ, capture_output=True, text=True, timeout=60, check=False)


def test_imports_every_object_with_overwrite_and_xsrf_header(kibana: FakeKibana) -> None:
    result = run_import(kibana)
    assert result.returncode == 0, result.stderr
    request, health = kibana.imports  # both dashboards' files, in name order
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    assert "kbn-xsrf" in request["headers"]
    assert request["headers"]["content-type"].startswith("multipart/form-data")
    assert 'name="file"; filename="newsflow.ndjson"' in request["body"]
    for line in NDJSON.read_text("utf-8").splitlines():
        assert line in request["body"]
    assert "imported newsflow.ndjson: 10 objects" in result.stdout
    assert 'filename="source-health.ndjson"' in health["body"]
    for line in HEALTH_NDJSON.read_text("utf-8").splitlines():
        assert line in health["body"]
    assert "imported source-health.ndjson" in result.stdout


def test_waits_until_kibana_is_available(kibana: FakeKibana) -> None:
    kibana.unavailable_polls = 1
    result = run_import(kibana)
    assert result.returncode == 0, result.stderr
    assert kibana.status_polls == 2 and len(kibana.imports) == 2


def test_gives_up_when_kibana_never_becomes_available(kibana: FakeKibana) -> None:
    kibana.unavailable_polls = 10_000
    result = run_import(kibana, KIBANA_WAIT_SECONDS="1")
    assert result.returncode != 0
    assert "did not report" in result.stderr
    assert kibana.imports == []


def test_fails_loudly_when_kibana_rejects_objects(kibana: FakeKibana) -> None:
    kibana.import_answer = {
        "success": False,
        "successCount": 9,
        "errors": [{"id": "newsflow-overview", "type": "dashboard", "error": {"type": "missing_references"}}],
    }
    result = run_import(kibana)
    assert result.returncode == 1
    assert "missing_references" in result.stderr


def test_rewrites_only_the_data_view_title_for_another_index_prefix(kibana: FakeKibana) -> None:
    result = run_import(kibana, INDEX_PREFIX="news-test")
    assert result.returncode == 0, result.stderr
    body = kibana.imports[0]["body"]
    assert '"title":"news-test"' in body and '"title":"headlines"' not in body
    assert '"title":"Latest headlines"' in body
    health = kibana.imports[1]["body"]
    assert '"title":"news-test-sources"' in health and '"title":"headlines-sources"' not in health


def test_refuses_an_index_prefix_that_is_not_an_index_name(kibana: FakeKibana) -> None:
    result = run_import(kibana, INDEX_PREFIX="bad/prefix")
    assert result.returncode == 2
    assert kibana.imports == []


def test_sends_credentials_and_uses_the_space(kibana: FakeKibana) -> None:
    result = run_import(kibana, KIBANA_API_KEY="c2VjcmV0", KIBANA_SPACE="news")
    assert result.returncode == 0, result.stderr
    request = kibana.imports[0]
    assert request["path"] == "/s/news/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["authorization"] == "ApiKey c2VjcmV0"


def test_credentials_never_reach_curls_command_line(kibana: FakeKibana, tmp_path: Path) -> None:
    """A `curl` shim records every argument list, then runs the real curl."""
    real_curl = subprocess.run(["which", "curl"], capture_output=True, text=True, check=True).stdout.strip()
    argv_log = tmp_path / "argv.log"
    shim = tmp_path / "bin" / "curl"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\nexec "{real_curl}" "$@"\n')
    shim.chmod(0o755)
    password = 'pa"ss\\wo rd'  # curl config quoting: quotes, backslashes, spaces
    environ_path = f"{shim.parent}:{os.environ['PATH']}"
    result = run_import(kibana, PATH=environ_path, KIBANA_USERNAME="elastic", KIBANA_PASSWORD=password)
    assert result.returncode == 0, result.stderr
    import base64

    expected = "Basic " + base64.b64encode(f"elastic:{password}".encode()).decode()
    assert all(request["headers"]["authorization"] == expected for request in kibana.imports)
    logged = argv_log.read_text("utf-8")
    assert logged and password not in logged and "elastic:" not in logged
    assert "pa" + '"ss' not in result.stdout + result.stderr
