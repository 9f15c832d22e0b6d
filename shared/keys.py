"""Names of every Redis key we write, under one configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def seen(self, url_hash: str) -> str:
        return f"{self.prefix}:seen:{url_hash}"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}:dlq"

    @property
    def counters(self) -> str:
        return f"{self.prefix}:counters"

    def source_state(self, source_id: str) -> str:
        return f"{self.prefix}:source:{source_id}"

    def host_next_slot(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:next"

    def robots(self, host: str) -> str:
        return f"{self.prefix}:robots:{host}"

    def content(self, content_hash: str) -> str:
        return f"{self.prefix}:content:{content_hash}"

    def simhash_band(self, band: int, value: str) -> str:
        return f"{self.prefix}:simhash:{band}:{value}"

    # --- crawler (appended) -------------------------------------------------

    def listing(self, url_hash: str) -> str:
        """Validators and content hash of one feed, sitemap or section page."""
        return f"{self.prefix}:listing:{url_hash}"

    @property
    def seen_due(self) -> str:
        """Sorted set: ``source_id<TAB>url`` -> when it is due again (lease, retry, recrawl)."""
        return f"{self.prefix}:seen:due"

    def seen_validators(self, url_hash: str) -> str:
        """Hash: ETag / Last-Modified of a done article, for its conditional recrawls."""
        return f"{self.prefix}:seenv:{url_hash}"

    def host_state(self, host: str) -> str:
        """Hash: a host's booking frontier, recent request starts and Retry-After block."""
        return f"{self.prefix}:host:{host}:state"

    def host_interval(self, host: str) -> str:
        """Seconds between requests to a host when a source configures its own rate."""
        return f"{self.prefix}:host:{host}:interval"

    @property
    def sources_due(self) -> str:
        """Sorted set: source id -> epoch seconds of its next poll."""
        return f"{self.prefix}:sources:due"

    @property
    def index_stream(self) -> str:
        """Redis Stream of documents on their way to the indexers (shared.index_stream)."""
        return f"{self.prefix}:stream:index"

    def extract_queue(self) -> str:
        """The broker list behind the extract queue (kombu's Redis transport, our key prefix)."""
        return f"{self.prefix}:celery:extract"
