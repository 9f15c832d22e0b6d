"""The pipeline's exception tree and its closed vocabulary of reason codes.

::

    PipelineError (reason: Reason)
     ├── RetryableError   timeouts, connection errors, HTTP 429/5xx, Elasticsearch 429/503
     └── PermanentError   bad URL, not HTML, oversized, empty text, disallowed by robots, ...

A task shell chooses by type alone: retry with backoff, or dead-letter / skip.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # URL rules
    BAD_URL = "bad_url"
    BAD_SCHEME = "bad_scheme"
    PRIVATE_ADDRESS = "private_address"
    DISALLOWED_BY_ROBOTS = "disallowed_by_robots"
    NOINDEX = "noindex"  # meta robots or X-Robots-Tag asks not to index the page
    # fetching
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    DNS_ERROR = "dns_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    RATE_LIMITED = "rate_limited"  # the site answered 429/503
    HOST_BUSY = "host_busy"  # our own politeness slot for the host is not free yet
    OVERSIZED = "oversized"
    NOT_HTML = "not_html"
    BAD_ENCODING = "bad_encoding"
    # feeds and sitemaps
    BAD_FEED = "bad_feed"
    BAD_SITEMAP = "bad_sitemap"
    XML_ATTACK = "xml_attack"
    TOO_MANY_ENTRIES = "too_many_entries"
    # extraction
    NO_TEXT = "no_text"
    NOT_ARTICLE = "not_article"
    BINARY_CONTENT = "binary_content"
    # messages and indexing
    BAD_MESSAGE = "bad_message"
    UNCHANGED = "unchanged"
    INDEX_REJECTED = "index_rejected"
    INDEX_UNAVAILABLE = "index_unavailable"
    RETRIES_EXHAUSTED = "retries_exhausted"
    POISON = "poison"  # its processing killed the process holding it, too many times
    BACKPRESSURE = "backpressure"
    INTERNAL_ERROR = "internal_error"


class PipelineError(Exception):
    """Base of every error the pipeline expects; carries a reason code."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


class RetryableError(PipelineError):
    """Worth trying again later: the cause is outside the input and may pass."""

    def __init__(
        self,
        reason: Reason,
        detail: str = "",
        retry_after: float | None = None,
        *,
        slot_reserved: bool = False,
    ) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after
        # RATE_LIMITED only: a request slot is booked ``retry_after`` seconds from now, so the
        # retry must run then and must not book another one.
        self.slot_reserved = slot_reserved


class PermanentError(PipelineError):
    """Trying again cannot help: the input itself is the problem."""


class HostBusy(RetryableError):
    """Our own politeness limit for a host: not a failure but a wait, with its own budget.

    ``booking`` (``{"host", "at"}``) is the slot booked for the retry, which must run then
    and carry it; None when the host is booked beyond the horizon (come back later).
    """

    def __init__(self, host: str, retry_after: float, booking: dict[str, object] | None = None) -> None:
        what = "slot booked" if booking is not None else "fully booked"
        super().__init__(
            Reason.HOST_BUSY,
            f"host {host}: {what}",
            retry_after=retry_after,
            slot_reserved=booking is not None,
        )
        self.host = host
        self.booking = booking
