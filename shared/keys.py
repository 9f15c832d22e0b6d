"""Names of every Redis key we write, under one configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def seen(self, url_hash: str) -> str:
        return f"{self.prefix}:seen:{url_hash}"

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

    @property
    def index_stream(self) -> str:
        """Redis Stream of documents on their way to the indexers (shared.index_stream)."""
        return f"{self.prefix}:stream:index"

    def extract_queue(self) -> str:
        """The broker list behind the extract queue (kombu's Redis transport, our key prefix)."""
        return self.queue("extract")

    # --- message layer (core) ----------------------------------------------
    # kombu's Redis transport keeps each queue as a list and its unacknowledged messages in a
    # hash plus a sorted set (delivery tag -> time taken), all under ``broker_prefix``
    # (Celery's ``global_keyprefix``). These are the only places that layout is spelled out.

    @property
    def broker_prefix(self) -> str:
        return f"{self.prefix}:celery:"

    def queue(self, name: str) -> str:
        """The broker list of one Celery queue (priority 0, the only one we use)."""
        return f"{self.broker_prefix}{name}"

    @property
    def unacked(self) -> str:
        """Hash: delivery tag -> message a consumer holds unacknowledged."""
        return f"{self.broker_prefix}unacked"

    @property
    def unacked_index(self) -> str:
        """Sorted set: delivery tag -> when it was taken (or last renewed by its holder)."""
        return f"{self.broker_prefix}unacked_index"

    @property
    def delayed(self) -> str:
        """Sorted set: serialised (task, kwargs) entry -> due time (shared.delay)."""
        return f"{self.prefix}:delayed"

    def deliveries(self, message_id: str) -> str:
        """Times one Celery message (task id) was handed to a handler (shared.runner)."""
        return f"{self.prefix}:deliveries:{message_id}"

    @property
    def dead_letter_index(self) -> str:
        """Sorted set: dead-letter id -> last failure time (shared.deadletters)."""
        return f"{self.prefix}:dlq:index"

    def dead_letter(self, entry_id: str) -> str:
        """Hash: one dead letter's task, kwargs, reason, attempts, failures, error."""
        return f"{self.prefix}:dlq:entry:{entry_id}"

    def dead_letter_reason(self, reason: str) -> str:
        """Sorted set: the dead-letter ids of one reason -> last failure time."""
        return f"{self.prefix}:dlq:reason:{reason}"
