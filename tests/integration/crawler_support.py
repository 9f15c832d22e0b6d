"""Helpers for the crawler's integration tests: sources files, settings, queue inspection."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import yaml

from shared.keys import Keys
from shared.settings import Settings

CRAWLER_APP = "services.crawler.tasks"


def write_sources(path: Path, sources: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    return path


def crawler_settings(make_settings: Callable[..., Settings], sources_file: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "sources_file": sources_file,
        "host_rate_per_second": 50.0,
        "fetch_connect_timeout": 2.0,
        "fetch_read_timeout": 1.0,
        "fetch_total_timeout": 5.0,
        "log_format": "json",
    }
    values.update(over)
    return make_settings(**values)


def queue_messages(r: redis.Redis, keys: Keys, queue: str = "extract") -> list[dict[str, Any]]:
    """The tasks waiting in a broker queue: [{"task": name, "kwargs": {...}}, ...]."""
    out = []
    for raw in r.lrange(f"{keys.prefix}:celery:{queue}", 0, -1):  # type: ignore[union-attr]
        msg = json.loads(raw)
        body = msg["body"]
        if msg.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        out.append({"task": msg["headers"]["task"], "kwargs": kwargs})
    return out


def queued_urls(r: redis.Redis, keys: Keys) -> list[str]:
    return [m["kwargs"]["url"] for m in queue_messages(r, keys) if m["task"] == "worker.process_url"]


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def crawl_settled(r: redis.Redis, keys: Keys) -> bool:
    """No crawler task waiting in the crawl queue or held by a worker (unacked, incl. ETA)."""
    prefix = f"{keys.prefix}:celery:"
    return not r.llen(prefix + "crawl") and not r.hlen(prefix + "unacked")


def wait_settled(r: redis.Redis, keys: Keys, timeout: float, stable: float = 0.5) -> bool:
    """Wait until the crawl has settled and stays settled for ``stable`` seconds."""
    deadline = time.monotonic() + timeout
    since: float | None = None
    while time.monotonic() < deadline:
        if crawl_settled(r, keys):
            since = since or time.monotonic()
            if time.monotonic() - since >= stable:
                return True
        else:
            since = None
        time.sleep(0.05)
    return False


class InProcessCrawler:
    """Runs crawl steps in the test process with real Redis, HTTP and broker (no worker):
    what ``crawler.fetch_listing`` does, with the shared host-slot waits slept through."""

    def __init__(self, settings: Settings, r: redis.Redis) -> None:
        from services.crawler.crawl import CrawlOptions
        from shared.celery_app import create_app
        from shared.fetch import FetchOptions, make_http_client

        self.settings = settings
        self.r = r
        self.keys = Keys(settings.redis_prefix)
        self.options = FetchOptions.from_settings(settings)
        self.client = make_http_client(self.options)
        self.sender = create_app("test-sender", settings)
        self.crawl_options = CrawlOptions(
            seen_ttl_seconds=settings.seen_ttl_days * 86400,
            extract_queue_max=settings.extract_queue_max,
            max_listing_entries=settings.max_listing_entries,
        )

    def _patiently(self, call: Callable[[Any], Any]) -> Any:
        from shared.errors import RetryableError
        from shared.polite_fetch import Booking

        booking = Booking()
        for _ in range(50):
            try:
                return call(booking)
            except RetryableError as exc:
                if not exc.detail.startswith("host ") or exc.retry_after is None:
                    raise
                booking = Booking(held=exc.slot_reserved)  # as the task's retry would
                time.sleep(exc.retry_after)
        raise AssertionError("host slot never became free")

    def fetch(self, url: str, **kw: Any) -> Any:
        from shared.polite_fetch import polite_fetch

        return self._patiently(
            lambda booking: polite_fetch(
                self.client,
                self.r,
                self.keys,
                url,
                self.options,
                robots_ttl=self.settings.robots_ttl_seconds,
                default_rate=self.settings.host_rate_per_second,
                booking=booking,
                **kw,
            )
        )

    def robots(self, url: str) -> Any:
        from shared.polite_fetch import get_robots

        return self._patiently(
            lambda booking: get_robots(
                self.client,
                self.r,
                self.keys,
                url,
                self.options,
                robots_ttl=self.settings.robots_ttl_seconds,
                default_rate=self.settings.host_rate_per_second,
                booking=booking,
            )
        )

    def listing(self, source: Any, url: str, kind: str, depth: int = 0) -> Any:
        from services.crawler.crawl import crawl_listing
        from services.crawler.listings import ListingKind

        return crawl_listing(
            r=self.r,
            keys=self.keys,
            fetcher=self.fetch,
            robots_for=self.robots,
            sender=self.sender,
            source=source,
            url=url,
            kind=ListingKind(kind),
            options=self.crawl_options,
            depth=depth,
        )

    def close(self) -> None:
        self.client.close()
