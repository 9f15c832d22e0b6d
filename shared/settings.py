"""The one typed settings object, read from the environment.

No other module reads ``os.environ``: every knob is here, validated at start-up,
and reached through the cached :func:`get_settings`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # --- stores -------------------------------------------------------------
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Broker, seen-set, rate limits, DLQ.")
    elasticsearch_url: str = Field("http://127.0.0.1:9200", description="Elasticsearch endpoint.")
    elasticsearch_username: str | None = Field(None, description="Basic-auth user, if any.")
    elasticsearch_password: SecretStr | None = Field(None, description="Basic-auth password.")
    elasticsearch_api_key: SecretStr | None = Field(None, description="API key (instead of basic auth).")
    elasticsearch_ca_certs: Path | None = Field(None, description="CA bundle for https clusters.")
    elasticsearch_timeout: float = Field(30.0, description="Seconds per Elasticsearch request.")

    # --- naming: tests set their own prefixes so they never share data ------
    index_prefix: str = Field("headlines", description="Alias name; yearly indices are <prefix>-YYYY.")
    redis_prefix: str = Field("newsflow", description="Namespace of every Redis key we write.")

    # --- crawler ------------------------------------------------------------
    sources_file: Path = Field(Path("deploy/sources.yaml"), description="YAML list of sources.")
    poll_tick_seconds: float = Field(15.0, description="How often beat checks which sources are due.")
    poll_min_seconds: float = Field(60.0, description="Fastest adaptive re-poll of one source.")
    poll_max_seconds: float = Field(3600.0, description="Slowest adaptive re-poll of one source.")
    seen_ttl_days: float = Field(30.0, description="How long a URL stays in the seen-set.")
    extract_queue_max: int = Field(10_000, description="Backpressure: stop enqueueing above this depth.")
    host_rate_per_second: float = Field(1.0, description="Default politeness: requests/s per host.")
    robots_ttl_seconds: float = Field(3600.0, description="How long a fetched robots.txt is trusted.")
    max_listing_entries: int = Field(
        5000, description="Most article links taken from one feed, sitemap or section page."
    )

    # --- crawler: scale, sitemaps, seen outcomes, recrawl (issue 12) ------------
    poll_due_max: int = Field(2000, description="Most sources one poll_due tick sends (earliest due first).")
    max_article_age_days: float = Field(
        0.0, description="Live crawl: skip links and child sitemaps dated older than this (0: off)."
    )
    crawl_queue_max: int = Field(
        5000, description="No new poll rounds while more listings than this wait on the crawl queue."
    )
    sitemap_children_max: int = Field(50, description="Child sitemaps sent per index fetch, newest first.")
    sitemap_recheck_seconds: float = Field(
        86400.0, description="How often a child sitemap without <lastmod> is read again."
    )
    reoffer_max_per_tick: int = Field(
        500, description="Most lost, failed-for-now or recrawl URLs one poll_due tick sends again."
    )
    seen_lease_seconds: float = Field(
        6 * 3600.0, description="A claimed URL with no outcome after this long counts as lost."
    )
    seen_retry_max: int = Field(5, description="Tries of a URL that fails for now before it is final.")
    seen_retry_base_seconds: float = Field(
        900.0, description="First wait before a failed-for-now URL is tried again (x4 each time)."
    )
    seen_not_found_grace_seconds: float = Field(
        6 * 3600.0, description="A 404 this soon after discovery is tried again (not yet published)."
    )
    recrawl_max_age_days: float = Field(
        7.0, description="Only articles published this recently are recrawled (0: any; archives are not)."
    )
    recrawl_ages_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [3600.0, 21600.0, 86400.0],
        description="Comma-separated ages after the first fetch at which an article is re-checked.",
    )

    # --- fetching (crawler and worker) --------------------------------------
    user_agent: str = Field("newsflow/0.1", description="Product token sent with every request.")
    contact_url: str = Field(
        "",
        description="URL or mailto: for site owners, appended to the UA; required to crawl the public web.",
    )
    fetch_connect_timeout: float = Field(5.0, description="Seconds to connect.")
    fetch_read_timeout: float = Field(10.0, description="Seconds between bytes.")
    fetch_total_timeout: float = Field(30.0, description="Seconds for one whole fetch.")
    max_body_bytes: int = Field(5_000_000, description="Largest page or feed accepted (decoded).")
    max_redirects: int = Field(5, description="Redirect hops followed, each re-checked.")
    allowed_private_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated hosts/CIDRs exempt from the private-address (SSRF) block.",
    )

    # --- worker -------------------------------------------------------------
    min_text_chars: int = Field(200, description="Shorter main text means 'not an article'.")
    near_duplicate_window_days: float = Field(
        7.0, description="How far back a near-duplicate's original is sought."
    )

    # --- indexer ------------------------------------------------------------
    bulk_max_docs: int = Field(500, description="Flush a bulk batch at this many documents.")
    bulk_max_bytes: int = Field(5_000_000, description="Split bulk requests above this size.")
    bulk_flush_seconds: float = Field(
        1.0, description="Longest one read of the index stream waits while the indexer is idle."
    )
    bulk_linger_seconds: float = Field(
        0.3,
        ge=0,
        description="Gather new documents this long after the first before a bulk write (unless full).",
    )
    index_backoff_max_seconds: float = Field(
        30.0, description="Longest wait between two write attempts of a held document."
    )
    index_claim_idle_seconds: float = Field(
        30.0, description="A document held this long by a silent indexer is taken over by another."
    )
    indexer_name: str | None = Field(
        None, description="Consumer name of this indexer process (default: the host name)."
    )

    # --- celery -------------------------------------------------------------
    task_soft_time_limit: int = Field(60, description="Seconds before a task is asked to stop.")
    task_time_limit: int = Field(90, description="Seconds before a task is killed.")
    max_deliveries: int = Field(
        3, description="Deliveries of one message whose processing kills its process, then poison."
    )

    # --- message layer (core): retry policy per stage, delays, dead letters, broker ----
    crawl_retry_max_attempts: int = Field(5, description="Crawler: retries of a failure, then dead letter.")
    crawl_retry_max_waits: int = Field(
        100, description="Crawler: waits for our own host slot, then dead letter."
    )
    crawl_retry_base_seconds: float = Field(2.0, description="Crawler: first backoff; doubles per attempt.")
    crawl_retry_cap_seconds: float = Field(300.0, description="Crawler: longest backoff.")
    crawl_retry_jitter: float = Field(0.25, description="Crawler: backoff stretched by up to this fraction.")
    extract_retry_max_attempts: int = Field(5, description="Worker: retries of a failure, then dead letter.")
    extract_retry_max_waits: int = Field(
        100, description="Worker: waits for our own host slot, then dead letter."
    )
    extract_retry_base_seconds: float = Field(2.0, description="Worker: first backoff; doubles per attempt.")
    extract_retry_cap_seconds: float = Field(300.0, description="Worker: longest backoff.")
    extract_retry_jitter: float = Field(0.25, description="Worker: backoff stretched by up to this fraction.")
    index_backlog_max: int = Field(
        10_000, description="Backpressure: the crawler defers while more documents wait to be indexed."
    )
    delay_poll_seconds: float = Field(0.2, description="How often each service moves due delayed messages.")
    delay_lease_seconds: float = Field(30.0, description="A claimed delayed message returns after this.")
    visibility_timeout_seconds: int = Field(
        30, description="An unacknowledged message not renewed by a live worker for this long returns."
    )
    dead_letters_max: int = Field(10_000, description="Dead letters kept; the oldest are dropped beyond.")
    dead_letters_max_age_days: float = Field(30.0, description="Dead letters older than this are dropped.")
    task_events: bool = Field(
        False,
        description="Celery task events from start-up (Flower switches workers' on by itself while it runs).",
    )
    worker_prefetch_multiplier: int = Field(
        2,
        ge=1,
        description="Messages a worker child holds: the running one and the next, ready when it ends.",
    )

    # --- operations (ops helper) ----------------------------------------------
    broker_url: str | None = Field(
        None, description="Celery broker Redis, when not the shared-state Redis (default: REDIS_URL)."
    )
    redis_sentinel_master: str = Field(
        "mymaster", description="Sentinel service name when a URL has no ?master= (redis+sentinel://)."
    )
    redis_password: SecretStr | None = Field(
        None, description="Redis password when the URL carries none (kept off command lines)."
    )
    index_shards: int = Field(1, ge=1, description="Primary shards of each new yearly index.")
    index_replicas: int = Field(0, ge=0, description="Replicas per index; 0 keeps a single node green.")
    metrics_port: int = Field(0, ge=0, description="Prometheus /metrics port of this process; 0: off.")
    metrics_bind: str = Field("0.0.0.0", description="Address the metrics endpoint listens on.")
    metrics_dir: Path | None = Field(
        None, description="Multiprocess metrics directory (default: a fresh temp dir per process tree)."
    )
    health_interval_seconds: float = Field(
        60.0, description="How often `newsflow health --every` writes the sources index."
    )

    # --- logging ------------------------------------------------------------
    log_format: LogFormat = Field(LogFormat.JSON, description="json (production) or console.")
    log_level: str = Field("INFO", description="Root log level.")

    @field_validator("allowed_private_hosts", "recrawl_ages_seconds", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("index_prefix", "redis_prefix")
    @classmethod
    def _lowercase_name(cls, value: str) -> str:
        # Elasticsearch index names must be lowercase; refuse early rather than at first write.
        if not value or value != value.lower() or any(c in value for c in ' "*\\<|,>/?'):
            raise ValueError("must be a non-empty lowercase name without spaces or wildcards")
        return value

    @property
    def broker(self) -> str:
        """The Celery broker URL: its own Redis when BROKER_URL is set, else REDIS_URL."""
        return self.broker_url or self.redis_url

    @property
    def user_agent_header(self) -> str:
        return f"{self.user_agent} (+{self.contact_url})" if self.contact_url else self.user_agent


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
