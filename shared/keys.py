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

    def host_interval(self, host: str) -> str:
        """Seconds between requests to a host when a source configures its own rate."""
        return f"{self.prefix}:host:{host}:interval"

    @property
    def sources_due(self) -> str:
        """Sorted set: source id -> epoch seconds of its next poll."""
        return f"{self.prefix}:sources:due"

    def extract_queue(self) -> str:
        """The broker list behind the extract queue (kombu's Redis transport, our key prefix)."""
        return f"{self.prefix}:celery:extract"

    # --- operations (ops) ---------------------------------------------------
    # queue/index_stream/delayed match core's definitions on the core branch (same names and
    # layout); at merge keep one copy of each.

    def queue(self, name: str) -> str:
        """The broker list of one Celery queue (kombu's Redis transport, global_keyprefix)."""
        return f"{self.prefix}:celery:{name}"

    @property
    def index_stream(self) -> str:
        """Redis Stream of documents on their way to the indexers (shared.index_stream)."""
        return f"{self.prefix}:stream:index"

    @property
    def delayed(self) -> str:
        """Sorted set: serialised (task, kwargs) entry -> due time (shared.delay)."""
        return f"{self.prefix}:delayed"

    def source_health(self, source_id: str) -> str:
        """Hash: one source's outcome counts (``n:stage:outcome[:reason]``) and the epoch
        seconds of its last outcome of each kind (``t:stage:outcome``); shared.source_health."""
        return f"{self.prefix}:health:{source_id}"

    def source_daily(self, source_id: str) -> str:
        """Hash: UTC day (YYYY-MM-DD) -> articles of one source first indexed that day."""
        return f"{self.prefix}:health:{source_id}:daily"

    @property
    def health_sources(self) -> str:
        """Set of the source ids that have recorded an outcome."""
        return f"{self.prefix}:health:sources"
