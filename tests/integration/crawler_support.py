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

# Imported here, at collection, not inside a test: trafilatura's import warns (urllib3
# socks), and tests turn warnings into errors.
from services.crawler import handlers
from services.crawler.listings import ListingKind
from services.crawler.tasks import FETCH_LISTING, POLL_DUE, POLL_SOURCE
from shared.celery_app import create_app
from shared.deps import Deps
from shared.errors import HostBusy
from shared.keys import Keys
from shared.polite_fetch import Booking
from shared.runner import execute
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
    for raw in r.lrange(keys.queue(queue), 0, -1):  # type: ignore[union-attr]
        msg = json.loads(raw)
        body = msg["body"]
        if msg.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        out.append({"task": msg["headers"]["task"], "id": msg["headers"]["id"], "kwargs": kwargs})
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
    """No crawler task waiting in the crawl queue, held by a worker (unacked) or delayed."""
    return not r.llen(keys.queue("crawl")) and not r.hlen(keys.unacked) and not r.zcard(keys.delayed)


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


def take_message(r: redis.Redis, keys: Keys, queue: str) -> dict[str, Any] | None:
    """Pop the next message a consumer would get from a broker queue (kombu BRPOPs)."""
    raw = r.rpop(keys.queue(queue))
    if raw is None:
        return None
    msg = json.loads(raw)  # type: ignore[arg-type]
    body = msg["body"]
    if msg.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    _args, kwargs, _embed = json.loads(body)
    return {"task": msg["headers"]["task"], "id": msg["headers"]["id"], "kwargs": kwargs}


class InProcessCrawler:
    """The crawler in the test process, on a real ``Deps`` (Redis, HTTP client, broker):

    * ``fetch`` / ``robots`` / ``listing``: the crawler's own handler steps, with the
      host-slot waits (``HostBusy``) slept through as the runner's delay would;
    * ``run(queue)``: the real task path, in-process: take each message from the broker
      queue and hand it to ``shared.runner.execute`` with its stage, pumping the delay queue
      (retries, host waits) back onto the queue, until nothing is left.
    """

    def __init__(self, settings: Settings, r: redis.Redis) -> None:
        self.settings = settings
        self.r = r
        self.deps = Deps.build(settings, create_app("test-crawler", settings))
        self.keys = self.deps.keys
        self.client = self.deps.http

    def _patiently(self, call: Callable[[Any], Any]) -> Any:
        booking = Booking()
        for _ in range(50):
            try:
                return call(booking)
            except HostBusy as exc:
                booking = Booking(exc.host if exc.booked else None)  # as the runner's delay would
                time.sleep(exc.wait)
        raise AssertionError("host slot never became free")

    def fetch(self, url: str, **kw: Any) -> Any:
        rate = self.settings.host_rate_per_second
        return self._patiently(lambda booking: handlers.fetch(self.deps, url, rate, booking, **kw))

    def robots(self, url: str) -> Any:
        rate = self.settings.host_rate_per_second
        return self._patiently(lambda booking: handlers.robots(self.deps, url, rate, booking))

    def listing(self, source: Any, url: str, kind: str, depth: int = 0) -> Any:
        return self._patiently(
            lambda booking: handlers.crawl(self.deps, source, url, ListingKind(kind), depth, booking)
        )

    def run(self, queue: str = "crawl", timeout: float = 60.0) -> list[str]:
        """Run every message of ``queue`` through the runner; returns the verdicts."""
        stages = {s.task: s for s in (POLL_DUE, POLL_SOURCE, FETCH_LISTING)}
        pump = self.deps.pump()
        verdicts: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = take_message(self.r, self.keys, queue)
            if message is None:
                if not self.deps.delay.size():
                    return verdicts
                pump.pump_once()
                time.sleep(0.02)
                continue
            stage = stages[message["task"]]
            verdicts.append(execute(stage, self.deps, message["kwargs"], delivery_id=message["id"]))
        raise AssertionError(f"queue {queue} not drained within {timeout}s")

    def close(self) -> None:
        self.deps.close()
