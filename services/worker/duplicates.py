"""The cross-worker duplicate registry in Redis: exact copies and near copies (SimHash).

* exact: ``SET content:<hash> <doc_id> NX GET`` — the first article with this text owns it;
* near: the 64-bit SimHash is cut into bands; each band value keys a sorted set of
  ``doc_id:simhash`` scored by first-seen time. Two texts within the distance threshold share
  at least one band, so candidates come from a handful of small sets, and the oldest
  candidate within the threshold is the original.

Two near copies registering in the same instant may both count as originals; that race costs
one uncollapsed duplicate, never a lost article.
"""

from __future__ import annotations

import time

import redis

from shared.keys import Keys

_MAX_CANDIDATES_PER_BAND = 50


def register_and_find_original(
    r: redis.Redis,
    keys: Keys,
    *,
    doc_id: str,
    text_hash: str,
    simhash: int | None,
    bands: list[str],
    max_distance: int,
    ttl_seconds: int,
) -> str | None:
    """Record this article and return the id of the article it copies, if any."""
    previous = r.set(keys.content(text_hash), doc_id, nx=True, ex=ttl_seconds, get=True)
    if previous and previous != doc_id:
        return str(previous)
    if simhash is None:
        return None
    original: tuple[float, str] | None = None
    for i, band in enumerate(bands):
        for member, score in r.zrange(
            keys.simhash_band(i, band), 0, _MAX_CANDIDATES_PER_BAND - 1, withscores=True
        ):  # type: ignore[union-attr]
            other_id, _, other_hash = str(member).rpartition(":")
            if other_id == doc_id or not other_hash:
                continue
            if (int(other_hash, 16) ^ simhash).bit_count() <= max_distance and (
                original is None or score < original[0]
            ):
                original = (score, other_id)
    now = time.time()
    pipe = r.pipeline(transaction=False)
    for i, band in enumerate(bands):
        key = keys.simhash_band(i, band)
        pipe.zadd(key, {f"{doc_id}:{simhash:016x}": now}, nx=True)
        pipe.expire(key, ttl_seconds)
    pipe.execute()
    return original[1] if original else None
