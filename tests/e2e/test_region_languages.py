"""Kazakh, Kyrgyz, Russian and English articles through the real worker and indexer: every
document gets the language of its text (even where the page's markup says otherwise) and the
topic a reader would give it.

The pages are served on 127.0.0.1 by this test; their words are ``tests.region_articles``
(our own), wrapped in an outlet's markup. Real Redis, Elasticsearch and Celery processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.document import document_id
from shared.messages import ProcessUrl, TaskName
from shared.settings import Settings
from tests.region_articles import ARTICLES
from tests.service_processes import pipeline_processes
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

# Regional outlets often declare one language for every page: the Kyrgyz and Kazakh pages here
# say "ru" in their markup, and the text must win.
DECLARED = {"ky": "ru", "kk": "ru", "ru": "ru", "en": "en"}


def _page(language: str, title: str, body: str, index: int) -> bytes:
    paragraphs = "".join(f"<p>{escape(s.strip())}.</p>" for s in body.split(". ") if s.strip())
    return (
        f'<!DOCTYPE html><html lang="{DECLARED[language]}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="2026-11-{10 + index:02d}T09:00:00+06:00">'
        "</head><body><header><nav><a href='/'>Home</a> <a href='/news/'>News</a></nav></header>"
        f"<main><article><h1>{escape(title)}</h1>"
        f"<time datetime='2026-11-{10 + index:02d}T09:00:00+06:00'>{10 + index} November 2026</time>"
        f"{paragraphs}</article></main><footer><a href='/about/'>About</a></footer></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def region_site() -> Iterator[tuple[str, dict[str, tuple[str, str]]]]:
    """(base URL, path -> (language, expected topic)) of a loopback site with the articles."""
    pages = {
        f"/{language}/news/{index}": (_page(language, title, body, index), (language, topic))
        for index, (language, topic, title, body) in enumerate(ARTICLES)
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = pages.get(self.path)
            body = found[0] if found else b"<html><body>Not found</body></html>"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", {p: meta for p, (_, meta) in pages.items()}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    # The articles are a few sentences long: below the default minimum of a news article.
    return make_settings(
        host_rate_per_second=50.0, bulk_flush_seconds=0.3, min_text_chars=120, log_format="json"
    )


def _documents(es: Any, settings: Settings, ids: list[str]) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=f"{settings.index_prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    hits = (
        es.options(ignore_status=404)
        .search(index=settings.index_prefix, query={"ids": {"values": ids}}, size=len(ids))
        .get("hits", {})
        .get("hits", [])
    )
    return {hit["_id"]: hit["_source"] for hit in hits}


def test_every_article_gets_its_texts_language_and_its_topic(
    settings: Settings, es_client: Any, redis_client: Any, region_site: Any
) -> None:
    base, expected = region_site
    urls = {base + path: meta for path, meta in expected.items()}
    with pipeline_processes(settings, crawler=False):
        sender = create_app("test-sender", settings)
        for url in urls:
            message = ProcessUrl(url=url, source_id="region", discovered_at=datetime.now(UTC))
            sender.send_task(TaskName.PROCESS_URL, kwargs=message.model_dump(mode="json"))
        ids = [document_id(url) for url in urls]
        wait_for(
            lambda: len(_documents(es_client, settings, ids)) == len(ids),
            timeout=90,
            what=f"all {len(ids)} regional articles indexed",
        )
    docs = _documents(es_client, settings, ids)
    assert {"ky", "kk"} <= {language for language, _ in urls.values()}
    for url, (language, topic) in urls.items():
        doc = docs[document_id(url)]
        assert doc["language"] == language, (url, doc["language"])
        assert doc["topics"] and doc["topics"][0]["code"] == topic, (url, doc["topics"])
        assert doc["tagger"] == "newsflow-static-e5"
