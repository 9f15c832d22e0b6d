"""The contract between services: task names, queues and message payloads.

Services never import each other; a sender calls ``Dispatcher.send(NAME, payload)`` with a
payload built from one of these models, and the receiver validates it with the same model.
Messages are small JSON: ids, URLs and short dicts, never page bodies.

Every message carries its own retry state, so a delayed or replayed message needs nothing
but itself: ``attempt`` (failed tries so far), ``waits`` (times it waited for our own host
slot) and, when a slot was booked for its next try, ``booking`` (host and slot time).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.document import ArticleDocument


class Queue:
    CRAWL = "crawl"
    EXTRACT = "extract"
    INDEX = "index"


class TaskName:
    POLL_DUE = "crawler.poll_due"
    POLL_SOURCE = "crawler.poll_source"
    FETCH_LISTING = "crawler.fetch_listing"  # one feed, sitemap or section page
    PROCESS_URL = "worker.process_url"
    RETAG_DOCUMENT = "worker.retag_document"  # re-tag an indexed document (topics)
    INDEX_DOCUMENT = "indexer.index_document"


TASK_QUEUES: dict[str, str] = {
    TaskName.POLL_DUE: Queue.CRAWL,
    TaskName.POLL_SOURCE: Queue.CRAWL,
    TaskName.FETCH_LISTING: Queue.CRAWL,
    TaskName.PROCESS_URL: Queue.EXTRACT,
    TaskName.RETAG_DOCUMENT: Queue.EXTRACT,
    TaskName.INDEX_DOCUMENT: Queue.INDEX,
}


class Booking(BaseModel):
    """A request slot booked for ``host`` at ``at`` (epoch seconds) by the previous try."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    host: str = Field(max_length=300)
    at: float
    # Booked for a redirect hop: the next try resumes the redirect chain at this URL.
    url: str | None = Field(None, max_length=4096)


class _Message(BaseModel):
    # Unknown fields are ignored so an older consumer survives a newer producer.
    model_config = ConfigDict(extra="ignore", frozen=True)

    attempt: int = Field(0, ge=0)  # failed tries so far (timeouts, 5xx, the site's 429, ...)
    waits: int = Field(0, ge=0)  # times it waited for our own host slot (HostBusy)
    booking: Booking | None = None  # the slot booked for this try, if any


class PollDue(_Message):
    """Beat's tick: send a poll for every source whose time has come."""


class PollSource(_Message):
    source_id: str = Field(max_length=200)


class FetchListing(_Message):
    source_id: str = Field(max_length=200)
    url: str = Field(max_length=4096)
    kind: str = Field(max_length=20)  # services.crawler.listings.ListingKind
    depth: int = Field(0, ge=0)  # sitemap nesting depth


class ProcessUrl(_Message):
    url: str = Field(max_length=4096)
    source_id: str = Field(max_length=200)
    discovered_at: datetime
    feed_published_at: datetime | None = None
    feed_title: str | None = Field(None, max_length=1000)
    # A recrawl's validators from the last fetch: the worker's GET is conditional (304: unchanged).
    etag: str | None = Field(None, max_length=1000)
    last_modified: str | None = Field(None, max_length=200)


class RetagDocument(_Message):
    doc_id: str = Field(max_length=200)
    index: str = Field(max_length=300)


class IndexDocument(_Message):
    """A document for the indexer. Typed, so the indexer checks message and document in one
    ``model_validate_json`` of the stream entry (half the cost of decoding it and validating
    the two one after the other)."""

    document: ArticleDocument


# Message fields that only describe the delivery, not the work: reset by a replay.
DELIVERY_FIELDS = ("attempt", "waits", "booking")
