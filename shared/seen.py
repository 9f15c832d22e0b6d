"""The shared seen-set: one small Redis key per normalised URL, expiring after a horizon.

Each entry is ``<prefix>:seen:<24 hex chars>`` holding ``1`` with a TTL, written with one
atomic ``SET NX EX``: whichever process writes first owns the URL, every other gets False.
Memory is bounded by the arrival rate times the TTL (see docs/crawler.md for bytes/URL).
"""

from __future__ import annotations

import hashlib

import redis

from shared.keys import Keys
from shared.urls import normalize_url

# 96 bits: a collision needs ~2^48 URLs inside one TTL window, far beyond any crawl.
_HASH_BYTES = 12


def url_key_hash(url: str) -> str:
    """Hash of the normalised URL (or of the raw string when it cannot be normalised)."""
    normalized = normalize_url(url) or url
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=_HASH_BYTES).hexdigest()


def mark_new(r: redis.Redis, keys: Keys, url: str, ttl_seconds: float) -> bool:
    """Atomically record ``url``; True if nobody had recorded it within the TTL."""
    ttl = max(1, int(ttl_seconds))
    return bool(r.set(keys.seen(url_key_hash(url)), "1", nx=True, ex=ttl))


def mark_new_many(r: redis.Redis, keys: Keys, urls: list[str], ttl_seconds: float) -> list[bool]:
    """``mark_new`` for many URLs in one round trip (each SET NX is still atomic on its own)."""
    ttl = max(1, int(ttl_seconds))
    pipe = r.pipeline(transaction=False)
    for url in urls:
        pipe.set(keys.seen(url_key_hash(url)), "1", nx=True, ex=ttl)
    return [bool(ok) for ok in pipe.execute()]


def is_seen(r: redis.Redis, keys: Keys, url: str) -> bool:
    return bool(r.exists(keys.seen(url_key_hash(url))))


def forget(r: redis.Redis, keys: Keys, url: str) -> None:
    """Undo ``mark_new`` (used when enqueueing failed after the URL was claimed)."""
    r.delete(keys.seen(url_key_hash(url)))
