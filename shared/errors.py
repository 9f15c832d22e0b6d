"""The pipeline's exception tree: typed intents a handler raises, and the reason codes.

::

    PipelineError (reason: Reason)
     ├── HostBusy         our own politeness slot for the host is booked: wait for it
     │                    (counted against the message's ``waits`` budget, not a failure)
     ├── RetryableError   timeouts, connection errors, the site's 429/503, 5xx, ES 429/503
     │                    (counted against ``attempt``; backoff from the stage's RetryPolicy)
     ├── PermanentError   bad URL, not HTML, oversized, empty text, disallowed by robots, ...
     │                    (skipped with its reason: trying again cannot help)
     └── DeadLetter       give up now and keep the message for replay (poison, a bad input
                          the handler recognises as a bug to fix)

A handler raises; ``shared.runner`` alone decides what each intent means for the message
(delay, skip, dead letter), so the failure policy lives in one file.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # URL rules
    BAD_URL = "bad_url"
    BAD_SCHEME = "bad_scheme"
    PRIVATE_ADDRESS = "private_address"
    DISALLOWED_BY_ROBOTS = "disallowed_by_robots"
    # fetching
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    DNS_ERROR = "dns_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    RATE_LIMITED = "rate_limited"  # the site answered 429/503 (with or without Retry-After)
    HOST_BUSY = "host_busy"  # our own politeness slot for the host is booked: a wait
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
    """Worth trying again later: the cause is outside the input and may pass.

    ``retry_after``: seconds the other side asked for (Retry-After), used instead of backoff.
    """

    def __init__(self, reason: Reason, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after


class HostBusy(PipelineError):
    """Our own per-host request slot is not free yet: not a failure, a wait.

    ``booked``: a slot ``wait`` seconds ahead is booked for this message, so its next try
    must run then and spend that booking (``booking_host``) instead of booking another.
    Without a booking (the host is booked beyond the horizon) it simply comes back later.
    """

    def __init__(self, host: str, wait: float, *, booked: bool) -> None:
        super().__init__(Reason.HOST_BUSY, f"host {host}: " + ("slot booked" if booked else "fully booked"))
        self.host = host
        self.wait = max(0.0, wait)
        self.booked = booked


class PermanentError(PipelineError):
    """Trying again cannot help: the input itself is the problem."""


class DeadLetter(PipelineError):
    """Stop trying and keep the message in the dead-letter registry for inspection and replay."""
