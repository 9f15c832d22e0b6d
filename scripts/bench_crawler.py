"""Measure the crawler's dedup memory per URL and its own CPU overhead per discovered URL.

Not a test: run it by hand against a Redis you may write to (keys go under a throwaway
prefix and are deleted afterwards; nothing is flushed)::

    python scripts/bench_crawler.py --redis-url redis://127.0.0.1:6390/0 --urls 100000

Prints:

* seen-set bytes per URL: Redis ``used_memory`` growth over N ``mark_new`` entries, and
  ``MEMORY USAGE`` of one entry (key + value + TTL bookkeeping);
* crawler overhead per URL, in microseconds: parsing a Google News sitemap, normalising
  its URLs, the pipelined seen-set claim, building each ProcessUrl and sending it to the
  broker (a real Celery ``send_task`` into a throwaway queue prefix).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import redis

from services.crawler.crawl import process_url_message
from services.crawler.listings import parse_sitemap
from shared.celery_app import create_app
from shared.dispatch import Dispatcher
from shared.keys import Keys
from shared.messages import TaskName
from shared.seen import mark_new, mark_new_many
from shared.settings import Settings
from shared.sources import Source

BASE = "https://news.example.com"


def _sitemap(n: int, salt: str) -> bytes:
    rows = [
        f"<url><loc>{BASE}/en/news/2025/10/{1 + i % 28:02d}/headline-number-{i}-{salt}"
        f"-about-something.html?utm_source=sitemap</loc><news:news><news:publication>"
        f"<news:name>Example</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>2025-10-15T10:00:00+05:00</news:publication_date>"
        f"<news:title>Headline number {i}</news:title></news:news></url>"
        for i in range(n)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(rows) + "</urlset>"
    ).encode()


def _cleanup(r: redis.Redis, prefix: str) -> None:
    batch: list[str] = []
    for key in r.scan_iter(f"{prefix}:*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            r.delete(*batch)
            batch = []
    if batch:
        r.delete(*batch)


def bench_memory(r: redis.Redis, n: int, ttl: float) -> None:
    keys = Keys(f"bench{uuid.uuid4().hex[:8]}")
    try:
        before = int(r.info("memory")["used_memory"])  # type: ignore[index]
        chunk = 5000
        for start in range(0, n, chunk):
            urls = [f"{BASE}/en/news/story-{i}-{keys.prefix}.html" for i in range(start, start + chunk)]
            mark_new_many(r, keys, urls, ttl)
        after = int(r.info("memory")["used_memory"])  # type: ignore[index]
        sample_url = f"{BASE}/en/news/sample-{keys.prefix}.html"
        mark_new(r, keys, sample_url, ttl)
        from shared.seen import url_key_hash

        usage = r.memory_usage(keys.seen(url_key_hash(sample_url)))
        print(f"seen-set: {n} URLs, used_memory grew {after - before:,} bytes")
        print(f"seen-set: {(after - before) / n:.1f} bytes/URL (used_memory delta)")
        print(f"seen-set: MEMORY USAGE of one entry = {usage} bytes")
        print(f"seen-set: key example {keys.seen(url_key_hash(sample_url))!r}")
    finally:
        _cleanup(r, keys.prefix)


def bench_overhead(r: redis.Redis, redis_url: str, n: int, rounds: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    keys = Keys(prefix)
    settings = Settings(redis_url=redis_url, redis_prefix=prefix)
    dispatcher = Dispatcher(create_app("bench", settings), r, keys)
    source = Source(id="bench", home_url=BASE + "/")
    parse_us, dedup_us, send_us = [], [], []
    try:
        for rnd in range(rounds):
            content = _sitemap(n, f"r{rnd}")
            t0 = time.perf_counter()
            listing = parse_sitemap(content, BASE + "/sitemap-news.xml", n + 1)
            t1 = time.perf_counter()
            fresh = mark_new_many(r, keys, [link.url for link in listing.links], 3600)
            t2 = time.perf_counter()
            new = [link for link, is_new in zip(listing.links, fresh, strict=True) if is_new]
            dispatcher.send_many(TaskName.PROCESS_URL, [process_url_message(source, link) for link in new])
            t3 = time.perf_counter()
            assert len(listing.links) == n and all(fresh)
            parse_us.append((t1 - t0) / n * 1e6)
            dedup_us.append((t2 - t1) / n * 1e6)
            send_us.append((t3 - t2) / n * 1e6)
        med = statistics.median
        print(f"overhead: {rounds} rounds of a {n}-URL news sitemap (median per URL)")
        print(f"overhead: parse+normalise {med(parse_us):.1f} us/URL")
        print(f"overhead: seen-set claim  {med(dedup_us):.1f} us/URL (pipelined SET NX EX)")
        print(f"overhead: enqueue         {med(send_us):.1f} us/URL (ProcessUrl + pipelined send_many)")
        total = med(parse_us) + med(dedup_us) + med(send_us)
        print(f"overhead: total           {total:.1f} us/URL")
        again = time.perf_counter()
        fresh = mark_new_many(r, keys, [link.url for link in listing.links], 3600)
        dup_us = (time.perf_counter() - again) / n * 1e6
        print(f"overhead: re-seen URL claim {dup_us:.1f} us/URL (all duplicates: {not any(fresh)})")
    finally:
        _cleanup(r, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # `make bench` sources run/test/servers.env, which names the test Redis.
    default_redis = os.environ.get("NEWSFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
    parser.add_argument("--redis-url", default=default_redis)
    parser.add_argument("--urls", type=int, default=100_000, help="seen-set entries to write")
    parser.add_argument("--sitemap-urls", type=int, default=5000, help="URLs per sitemap")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ttl-days", type=float, default=30.0)
    args = parser.parse_args()
    r = redis.Redis.from_url(args.redis_url, decode_responses=True)
    print(f"redis {r.info('server')['redis_version']} at {args.redis_url}")
    bench_memory(r, args.urls, args.ttl_days * 86400)
    bench_overhead(r, args.redis_url, args.sitemap_urls, args.rounds)


if __name__ == "__main__":
    main()
