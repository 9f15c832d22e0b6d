"""Pages that ask not to be indexed (meta robots, X-Robots-Tag) are skipped by a real worker
with their own reason code, and an ordinary article next to them still arrives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.keys import Keys
from shared.messages import ProcessUrl, Queue, TaskName
from shared.outcomes import read_counters
from tests.fixture_site import SITE_DIR
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_noindex_pages_are_skipped_with_their_reason(
    make_settings: Any, redis_client: Any, fixture_site: Any
) -> None:
    settings = make_settings(host_rate_per_second=50.0, log_format="json")
    keys = Keys(settings.redis_prefix)
    ordinary, marked, tagged = fixture_site.articles[:3]
    base = fixture_site.base_url.encode()
    body = (SITE_DIR / "main" / Path(marked.path.lstrip("/"))).read_bytes().replace(b"{{BASE}}", base)
    meta = body.replace(b"<head>", b'<head><meta name="robots" content="noindex">', 1)
    assert meta != body
    html = {"Content-Type": "text/html; charset=utf-8"}
    tagged_body = (SITE_DIR / "main" / Path(tagged.path.lstrip("/"))).read_bytes().replace(b"{{BASE}}", base)
    with (
        fixture_site.override(marked.path, 200, meta, html),
        fixture_site.override(tagged.path, 200, tagged_body, {**html, "X-Robots-Tag": "newsflow: noindex"}),
        celery_worker("services.worker.tasks", [Queue.EXTRACT], settings_env(settings), concurrency=2),
    ):
        sender = create_app("test-sender", settings)
        for article in (ordinary, marked, tagged):
            msg = ProcessUrl(url=article.url, source_id="fixture", discovered_at=datetime.now(UTC))
            sender.send_task(TaskName.PROCESS_URL, kwargs=msg.model_dump(mode="json"))
        counters = wait_for(
            lambda: (
                (c := read_counters(redis_client, keys)).get("extract:skipped:noindex", 0) >= 2
                and c.get("extract:extracted", 0) >= 1
                and c
            ),
            timeout=60,
            what="two noindex skips and one article",
        )
    assert counters["extract:skipped:noindex"] == 2 and counters["extract:extracted"] == 1
