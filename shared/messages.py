"""The contract between services: task names, queues and message payloads.

Services never import each other; a sender calls ``send_task(NAME, ...)`` with a payload
built from one of these models, and the receiver validates it with the same model.
Messages are small JSON: ids, URLs and short dicts, never page bodies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Queue:
    CRAWL = "crawl"
    EXTRACT = "extract"
    INDEX = "index"


class TaskName:
    POLL_DUE = "crawler.poll_due"
    POLL_SOURCE = "crawler.poll_source"
    FETCH_LISTING = "crawler.fetch_listing"  # one feed, sitemap or section page
    PROCESS_URL = "worker.process_url"
    INDEX_DOCUMENT = "indexer.index_document"


TASK_QUEUES: dict[str, str] = {
    TaskName.POLL_DUE: Queue.CRAWL,
    TaskName.POLL_SOURCE: Queue.CRAWL,
    TaskName.FETCH_LISTING: Queue.CRAWL,
    TaskName.PROCESS_URL: Queue.EXTRACT,
    TaskName.INDEX_DOCUMENT: Queue.INDEX,
}


class _Message(BaseModel):
    # Unknown fields are ignored so an older consumer survives a newer producer.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PollSource(_Message):
    source_id: str = Field(max_length=200)


class ProcessUrl(_Message):
    url: str = Field(max_length=4096)
    source_id: str = Field(max_length=200)
    discovered_at: datetime
    feed_published_at: datetime | None = None
    feed_title: str | None = Field(None, max_length=1000)
    attempt: int = 0  # failed tries so far (timeouts, 5xx, ...)
    waits: int = 0  # times it waited for the host's rate-limit slot
    booking: dict[str, Any] | None = None  # {host, at[, url]}: the slot booked by the previous try
    # A recrawl's validators from the last fetch: the worker's GET is conditional (304: unchanged).
    etag: str | None = Field(None, max_length=1000)
    last_modified: str | None = Field(None, max_length=200)


class IndexDocument(_Message):
    document: dict[str, Any]
    attempt: int = 0
