"""The cross-worker duplicate registry in Redis: exact copies and near copies (SimHash).

* exact: ``SET content:<hash> <doc_id> NX GET`` — the first article with this text owns it;
* near: the 64-bit SimHash is cut into bands; each band value keys a sorted set of
  ``doc_id:simhash`` scored by first-seen time. Texts within the distance threshold share a
  band with high probability (97% of edited copies with 8 bands, docs/extraction.md), so
  candidates come from a few sets, read newest first within the window, and the oldest
  candidate within the threshold is the original.

Two near copies registering in the same instant may both count as originals; that race costs
one uncollapsed duplicate, never a lost article.
"""

from __future__ import annotations

import time

import redis

from shared.keys import Keys

# Syndicated copies follow their original within days; looking at the newest members of a
# bucket bounds the work per article however large the corpus grows.
_MAX_CANDIDATES_PER_BAND = 1000


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
    window_seconds: float,
    now: float | None = None,
) -> str | None:
    """Record this article and return the id of the article it copies, if any.

    Two round trips whatever the band count: the exact-copy claim and every band's candidates
    are read in one pipeline, the band entries written in a second.
    """
    now = time.time() if now is None else now
    reads = r.pipeline(transaction=False)
    reads.set(keys.content(text_hash), doc_id, nx=True, ex=ttl_seconds, get=True)
    if simhash is not None:
        for i, band in enumerate(bands):
            reads.zrevrangebyscore(
                keys.simhash_band(i, band),
                "+inf",
                now - window_seconds,
                start=0,
                num=_MAX_CANDIDATES_PER_BAND,
                withscores=True,
            )
    previous, *band_candidates = reads.execute()
    if previous and previous != doc_id:
        return str(previous)
    if simhash is None:
        return None
    matches: list[tuple[float, str]] = []
    first_seen = now  # when this article itself was first registered, if it was
    for candidates in band_candidates:
        for member, score in candidates:
            other_id, _, other_hash = str(member).rpartition(":")
            if other_id == doc_id:
                first_seen = min(first_seen, score)
            elif other_hash and (int(other_hash, 16) ^ simhash).bit_count() <= max_distance:
                matches.append((score, other_id))
    # Only an article seen before this one can be its original: a replay of the original must
    # not turn it into a copy of its own later copies.
    earlier = [m for m in matches if m[0] < first_seen]
    original = min(earlier) if earlier else None
    pipe = r.pipeline(transaction=False)
    for i, band in enumerate(bands):
        key = keys.simhash_band(i, band)
        pipe.zadd(key, {f"{doc_id}:{simhash:016x}": now}, nx=True)
        pipe.zremrangebyscore(key, "-inf", now - ttl_seconds)  # buckets never outgrow the horizon
        pipe.expire(key, ttl_seconds)
    pipe.execute()
    return original[1] if original else None
