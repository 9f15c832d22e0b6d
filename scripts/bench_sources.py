"""The crawler at 10,000 sources and 1,000,000 seen URLs: scheduling cost and Redis memory.

Not a test: run it by hand against a Redis you may write to (keys go under a throwaway
prefix and are deleted afterwards; nothing is flushed)::

    python scripts/bench_sources.py --redis-url redis://127.0.0.1:6395/0

Prints:

* sources file: first parse, and the per-call cost of the cached ``SourcesCache.get``
  (a ``stat``) that every task pays;
* ``poll_due`` per tick, wall and CPU: the body of the task (sources from the cache, the
  atomic claim of the due sources from the sorted set) without the Celery send, for idle
  ticks (nothing due) and for busy ticks (sources spread over a one-hour poll interval);
* crawler CPU per idle hour, extrapolated from the measured idle ticks at
  ``POLL_TICK_SECONDS`` (beat's own and Celery's per-task overhead are not included);
* Redis memory: ``used_memory`` growth for the seen-set, the due set and the per-source
  state, measured by filling them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import redis

from services.crawler.crawl import claim_due_sources, sync_due
from shared.keys import Keys
from shared.seen import _value as seen_value
from shared.seen import url_key_hash
from shared.sources import SourcesCache

CHUNK = 10_000


def _sources_yaml(n: int) -> str:
    return "".join(
        f"- id: src{i:05d}\n  home_url: https://news{i}.example/\n  feeds: [/rss.xml]\n  rate_per_second: 2\n"
        for i in range(n)
    )


def _used(r: redis.Redis) -> int:
    return int(r.info("memory")["used_memory"])


def _timed(fn: object, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def _delete_prefix(r: redis.Redis, prefix: str) -> None:
    batch = []
    for key in r.scan_iter(f"{prefix}:*", count=CHUNK):
        batch.append(key)
        if len(batch) >= CHUNK:
            r.unlink(*batch)
            batch = []
    if batch:
        r.unlink(*batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("NEWSFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
    )
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--seen", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument(
        "--recent-share", type=float, default=0.05, help="share of seen URLs in the due set (recrawls)"
    )
    parser.add_argument("--tick-seconds", type=float, default=15.0, help="POLL_TICK_SECONDS")
    parser.add_argument("--poll-seconds", type=float, default=3600.0, help="sources' poll interval")
    args = parser.parse_args()

    r = redis.Redis.from_url(args.redis_url, decode_responses=True)
    prefix = f"bench-sources-{uuid.uuid4().hex[:8]}"
    keys = Keys(prefix)
    rng = random.Random(7)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sources.yaml"
            path.write_text(_sources_yaml(args.sources), encoding="utf-8")
            cache = SourcesCache(path)
            t0 = time.perf_counter()
            sources = cache.get()
            parse = time.perf_counter() - t0
            cached_wall, _ = _timed(cache.get, 1000)
            print(f"sources: {len(sources)}")
            print(f"  first parse and validation: {parse:.2f} s")
            print(f"  cached get (one stat): {cached_wall * 1e6:.1f} us")

            base = _used(r)
            now = time.time()
            t0 = time.perf_counter()
            sync_due(r, keys, sources, now)
            print(f"  sync to the due set (once per reload): {(time.perf_counter() - t0) * 1000:.0f} ms")
            # Idle: every source polled recently, due within the next poll interval.
            r.zadd(keys.sources_due, {sid: now + 60 + rng.random() * args.poll_seconds for sid in sources})
            pipe = r.pipeline(transaction=False)
            for sid in sources:
                pipe.hset(
                    keys.source_state(sid), mapping={"interval": 1800.0, "last_poll": now, "round_new": 0}
                )
                state: dict[str | bytes, bytes | float | int | str] = {
                    "hash": "0" * 32,
                    "etag": '"abcdef0123456789"',
                    "last_modified": "",
                    "children": "[]",
                }
                pipe.hset(keys.listing(url_key_hash(f"https://news{sid}.example/rss.xml")), mapping=state)
            pipe.execute()
            scheduling = _used(r) - base

            def tick(at: float) -> list[str]:
                cache.get()
                return claim_due_sources(r, keys, at, 60.0, 2000)

            idle_wall, idle_cpu = _timed(lambda: tick(now), args.ticks)
            due_counts, busy_walls, busy_cpus = [], [], []
            for k in range(args.ticks):
                at = now + 60 + k * args.tick_seconds
                w, c = time.perf_counter(), time.process_time()
                claimed = tick(at)
                busy_walls.append(time.perf_counter() - w)
                busy_cpus.append(time.process_time() - c)
                due_counts.append(len(claimed))
                if claimed:  # what poll_source does next: the real next due time
                    r.zadd(keys.sources_due, dict.fromkeys(claimed, at + args.poll_seconds))
            ticks_per_hour = 3600 / args.tick_seconds
            print(f"poll_due per tick ({args.ticks} ticks each, median):")
            print(f"  idle (0 due): {idle_wall * 1000:.2f} ms wall, {idle_cpu * 1000:.2f} ms CPU")
            print(
                f"  busy ({statistics.mean(due_counts):.0f} due per {args.tick_seconds:g} s tick): "
                f"{statistics.median(busy_walls) * 1000:.2f} ms wall, "
                f"{statistics.median(busy_cpus) * 1000:.2f} ms CPU"
            )
            print(
                f"crawler CPU per idle hour: {idle_cpu * ticks_per_hour:.2f} s "
                f"({ticks_per_hour:.0f} ticks x {idle_cpu * 1000:.2f} ms; Celery/beat overhead not included)"
            )

            before_seen = _used(r)
            ttl = 30 * 86400
            for start in range(0, args.seen, CHUNK):
                pipe = r.pipeline(transaction=False)
                for i in range(start, min(args.seen, start + CHUNK)):
                    url = f"https://news{i % 997}.example/a/{i}"
                    # The value a settled URL holds (shared.seen: done, since, count).
                    pipe.set(keys.seen(url_key_hash(url)), seen_value("d", now - i, 0), ex=ttl)
                pipe.execute()
            seen = _used(r) - before_seen
            # Due again: the articles of the last day wait for their recrawls.
            before_due = _used(r)
            recent = args.seen * args.recent_share
            for start in range(0, int(recent), CHUNK):
                members = {
                    f"src{i % len(sources):05d}\thttps://news{i % 997}.example/a/{i}": now + i
                    for i in range(start, min(int(recent), start + CHUNK))
                }
                r.zadd(keys.seen_due, members)  # type: ignore[arg-type]
            due_set = _used(r) - before_due
            print("Redis memory:")
            print(f"  seen-set, {args.seen:,} URLs: {seen / 2**20:.1f} MiB ({seen / args.seen:.0f} B/URL)")
            print(
                f"  seen due set, {int(recent):,} URLs awaiting a recrawl or retry: "
                f"{due_set / 2**20:.1f} MiB ({due_set / max(1, recent):.0f} B/URL)"
            )
            print(
                f"  due set + source and listing state, {len(sources):,} sources: {scheduling / 2**20:.1f} MiB"
            )
            print(f"  total under the prefix: {(_used(r) - base) / 2**20:.1f} MiB")
    finally:
        _delete_prefix(r, prefix)


if __name__ == "__main__":
    main()
