"""The shared seen-set: one small Redis key per normalised URL that remembers its outcome.

Each entry is ``<prefix>:seen:<24 hex chars>``, claimed with one atomic ``SET NX EX`` when a
listing discovers the URL: whichever process writes first owns it. Its value records where
the URL stands: ``state``, ``since`` and ``count``, packed into one integer (``_value``):

* ``q`` queued: claimed and sent; ``count`` = times offered again (lost or transient);
* ``t`` failed for now (a 5xx, a timeout, a 403, a 404 in its first hours, a lost message):
  offered again later with backoff, at most ``SeenPolicy.max_attempts`` times;
* ``d`` done (indexed or unchanged); ``count`` = recrawls made, ``since`` = first fetch;
* ``p`` final (permanent: not an article, robots, noindex, a late 404, attempts used up).

What is due again lives in one sorted set (``Keys.seen_due``) of ``source_id<TAB>url`` scored
by the time it is due: the claim lease of a queued URL (so a lost message is noticed), the
next try of a transient failure, and the next recrawl of a recent article (at
``SeenPolicy.recrawl_ages`` after its first fetch, so an edit reaches the index). The
worker calls :func:`settle` with each URL's outcome; the crawler calls :func:`take_due` and
sends what it returns. Memory: the set holds only URLs in flight, failing or due a recrawl.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

import redis

from shared.errors import Reason
from shared.keys import Keys
from shared.settings import Settings
from shared.urls import normalize_url

# 96 bits: a collision needs ~2^48 URLs inside one TTL window, far beyond any crawl.
_HASH_BYTES = 12


class Settle(StrEnum):
    DONE = "done"
    TRANSIENT = "transient"
    FINAL = "final"


@dataclass(frozen=True)
class SeenPolicy:
    """How the seen-set treats outcomes (from settings; see ``from_settings`` callers)."""

    ttl_seconds: float = 30 * 86400
    lease_seconds: float = 6 * 3600  # a claimed URL not settled by then counts as lost
    max_attempts: int = 5
    retry_base_seconds: float = 900.0  # 15 min, x4 each time: 15 min, 1 h, 4 h, 16 h, 24 h
    retry_max_seconds: float = 86400.0
    not_found_grace_seconds: float = 6 * 3600  # a 404 this soon after discovery is transient
    recrawl_ages: tuple[float, ...] = field(default=(3600.0, 6 * 3600.0, 24 * 3600.0))
    recrawl_max_age_seconds: float = 7 * 86400.0  # older articles (archives) are not recrawled; 0: any

    @classmethod
    def from_settings(cls, settings: Settings) -> SeenPolicy:
        return cls(
            ttl_seconds=settings.seen_ttl_days * 86400,
            lease_seconds=settings.seen_lease_seconds,
            max_attempts=settings.seen_retry_max,
            retry_base_seconds=settings.seen_retry_base_seconds,
            not_found_grace_seconds=settings.seen_not_found_grace_seconds,
            recrawl_ages=tuple(sorted(settings.recrawl_ages_seconds)),
            recrawl_max_age_seconds=settings.recrawl_max_age_days * 86400,
        )

    def recrawls(self, published_at: float | None, now: float) -> bool:
        """Whether an article published at ``published_at`` (epoch) is worth recrawling:
        recent news is edited, an archive page is not."""
        if self.recrawl_max_age_seconds <= 0 or published_at is None:
            return True
        return now - published_at <= self.recrawl_max_age_seconds


# Reasons a later try may cure. Everything else that is not done is final.
TRANSIENT_REASONS = frozenset(
    {
        Reason.TIMEOUT,
        Reason.CONNECTION_ERROR,
        Reason.DNS_ERROR,
        Reason.HTTP_5XX,
        Reason.RATE_LIMITED,
        Reason.HOST_BUSY,
        Reason.RETRIES_EXHAUSTED,
        Reason.BACKPRESSURE,
        Reason.INDEX_UNAVAILABLE,
    }
)
DONE_OUTCOMES = frozenset({"extracted", "indexed", "unchanged", "updated", "done"})


def http_status(detail: str) -> int | None:
    """The status in a fetch error's detail (``"HTTP 404"`` -> 404), if any."""
    parts = detail.split()
    if len(parts) >= 2 and parts[0] == "HTTP" and parts[1].isdigit():
        return int(parts[1])
    return None


def classify(
    outcome: str, reason: Reason | None, *, status: int | None, age_seconds: float, policy: SeenPolicy
) -> Settle:
    """Done, failed for now, or final: the seen-set's reading of one outcome (pure)."""
    if outcome in DONE_OUTCOMES and reason in (None, Reason.UNCHANGED):
        return Settle.DONE
    if reason in TRANSIENT_REASONS:
        return Settle.TRANSIENT
    if reason is Reason.HTTP_4XX:
        if status == 403 or status == 408:  # a bot wall or a hiccup, often temporary
            return Settle.TRANSIENT
        if status in (404, 410) and age_seconds < policy.not_found_grace_seconds:
            return Settle.TRANSIENT  # linked before it was published
    return Settle.FINAL


def retry_delay(attempts: int, policy: SeenPolicy) -> float:
    """Seconds until try ``attempts + 1`` of a URL that failed for now."""
    return min(policy.retry_max_seconds, policy.retry_base_seconds * (4 ** max(0, attempts - 1)))


def url_key_hash(url: str) -> str:
    """Hash of the normalised URL (or of the raw string when it cannot be normalised)."""
    normalized = normalize_url(url) or url
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=_HASH_BYTES).hexdigest()


_STATES = "?qtdp"  # code 1..4 in the packed value


def _value(state: str, since: float, count: int) -> str:
    # One integer (Redis stores it int-encoded, no string allocation): about 50 bytes per
    # URL less than "state|since|count" text. ``count`` is capped at 99.
    return str((int(since) * 100 + min(99, max(0, count))) * 10 + _STATES.index(state))


def _parse(raw: str | None) -> tuple[str, float, int] | None:
    if raw is None:
        return None
    try:
        packed = int(raw)
    except ValueError:
        return ("q", 0.0, 0)
    code, rest = packed % 10, packed // 10
    state = _STATES[code] if 1 <= code < len(_STATES) else "q"  # "1" (before outcomes): queued
    return (state, float(rest // 100), rest % 100)


def _member(source_id: str, url: str) -> str:
    return f"{source_id}\t{url}"


def mark_new(r: redis.Redis, keys: Keys, url: str, ttl_seconds: float, now: float = 0.0) -> bool:
    """Atomically record ``url``; True if nobody had recorded it within the TTL."""
    ttl = max(1, int(ttl_seconds))
    return bool(r.set(keys.seen(url_key_hash(url)), _value("q", now, 0), nx=True, ex=ttl))


def mark_new_many(
    r: redis.Redis, keys: Keys, urls: list[str], ttl_seconds: float, now: float = 0.0
) -> list[bool]:
    """``mark_new`` for many URLs in one round trip (each SET NX is still atomic on its own)."""
    ttl = max(1, int(ttl_seconds))
    pipe = r.pipeline(transaction=False)
    for url in urls:
        pipe.set(keys.seen(url_key_hash(url)), _value("q", now, 0), nx=True, ex=ttl)
    return [bool(ok) for ok in pipe.execute()]


def claim_new_many(
    r: redis.Redis, keys: Keys, source_id: str, urls: list[str], now: float, policy: SeenPolicy
) -> list[bool]:
    """Claim the URLs not seen yet and lease each one: if it is not settled within
    ``policy.lease_seconds`` (a lost message), :func:`take_due` offers it again."""
    fresh = mark_new_many(r, keys, urls, policy.ttl_seconds, now)
    leased: dict[str | bytes, bytes | float | int | str] = {
        _member(source_id, u): now + policy.lease_seconds for u, new in zip(urls, fresh, strict=True) if new
    }
    if leased:
        r.zadd(keys.seen_due, leased)
    return fresh


def is_seen(r: redis.Redis, keys: Keys, url: str) -> bool:
    return bool(r.exists(keys.seen(url_key_hash(url))))


def state_of(r: redis.Redis, keys: Keys, url: str) -> tuple[str, float, int] | None:
    """(state, since, count) of a URL, or None if it is not in the seen-set."""
    return _parse(r.get(keys.seen(url_key_hash(url))))


def forget(r: redis.Redis, keys: Keys, url: str, source_id: str | None = None) -> None:
    """Undo ``mark_new`` (used when enqueueing failed after the URL was claimed)."""
    r.delete(keys.seen(url_key_hash(url)))
    if source_id is not None:
        r.zrem(keys.seen_due, _member(source_id, url))


def _next_recrawl(policy: SeenPolicy, first: float, made: int, recrawl: bool) -> float | None:
    return first + policy.recrawl_ages[made] if recrawl and made < len(policy.recrawl_ages) else None


def settle(
    r: redis.Redis,
    keys: Keys,
    url: str,
    source_id: str,
    outcome: str,
    reason: Reason | None,
    now: float,
    policy: SeenPolicy,
    *,
    status: int | None = None,
    recrawl: bool = True,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Settle:
    """Record what became of ``url`` and when it is due again, if ever. The worker calls this
    once per URL with its final outcome (not for a retry it schedules itself).
    ``recrawl=False`` (a backfill) schedules no recrawls. ``etag``/``last_modified`` of a
    done page are kept while recrawls are due, so those are conditional GETs."""
    key = keys.seen(url_key_hash(url))
    member = _member(source_id, url)
    state, since, count = _parse(r.get(key)) or ("q", now, 0)
    age = now - since if since > 0 else float("inf")
    verdict = classify(outcome, reason, status=status, age_seconds=age, policy=policy)
    ttl = max(1, int(policy.ttl_seconds))
    due: float | None = None
    if state == "d":
        # A recrawl (take_due counted it): the indexed copy stands whatever happened; the
        # next recrawl, if any, is already scheduled from the first fetch.
        value = _value("d", since, count)
        if verdict is not Settle.FINAL:
            due = _next_recrawl(policy, since, count, recrawl)
    elif verdict is Settle.DONE:
        value = _value("d", now, 0)  # first fetch done: recrawls count from now
        due = _next_recrawl(policy, now, 0, recrawl)
    elif verdict is Settle.TRANSIENT and count + 1 < policy.max_attempts:
        value = _value("t", since, count + 1)
        due = now + retry_delay(count + 1, policy)
    else:
        if verdict is Settle.TRANSIENT:
            verdict = Settle.FINAL  # attempts used up
        value = _value("p", since, count + 1)
    pipe = r.pipeline(transaction=False)
    pipe.set(key, value, ex=ttl)
    validators = keys.seen_validators(url_key_hash(url))
    if due is None:
        pipe.zrem(keys.seen_due, member)
        pipe.delete(validators)
    else:
        pipe.zadd(keys.seen_due, {member: due})
        if verdict is Settle.DONE and (etag or last_modified):
            pipe.hset(validators, mapping={"etag": etag or "", "last_modified": last_modified or ""})
            pipe.expire(validators, max(1, int(due - now + policy.lease_seconds)))
    pipe.execute()
    return verdict


@dataclass(frozen=True)
class DueUrl:
    source_id: str
    url: str
    kind: str  # "lost" | "retry" | "recrawl"
    etag: str | None = None  # recrawl: validators of the last fetch
    last_modified: str | None = None


_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], m) end
return due
"""


def take_due(
    r: redis.Redis, keys: Keys, now: float, limit: int, policy: SeenPolicy, *, recrawl: bool = True
) -> list[DueUrl]:
    """URLs due again, earliest first, at most ``limit``, each leased again in the same
    atomic step (two crawlers never offer one twice; a lost offer comes back):

    * ``lost``: claimed but never settled within the lease; counts as an attempt;
    * ``retry``: failed for now and its backoff has passed;
    * ``recrawl``: done, and the next recrawl age has come; counted when offered, so a lost
      recrawl is not repeated, and the one after it is scheduled here.
    """
    members = [
        str(m) for m in r.eval(_TAKE, 1, keys.seen_due, now, now + policy.lease_seconds, max(1, limit))
    ]
    if not members:
        return []
    pairs = [m.split("\t", 1) for m in members]
    pipe = r.pipeline(transaction=False)
    for _, url in pairs:
        pipe.get(keys.seen(url_key_hash(url)))
        pipe.hmget(keys.seen_validators(url_key_hash(url)), "etag", "last_modified")
    replies = pipe.execute()
    values, validators = replies[0::2], replies[1::2]
    out: list[DueUrl] = []
    pipe = r.pipeline(transaction=False)
    for (source_id, url), raw, (etag, last_modified) in zip(pairs, values, validators, strict=True):
        key, member = keys.seen(url_key_hash(url)), _member(source_id, url)
        current = _parse(raw)
        if current is None or current[0] == "p":  # expired or final meanwhile
            pipe.zrem(keys.seen_due, member)
            continue
        state, since, count = current
        if state == "d":
            made = count + 1
            pipe.set(key, _value("d", since, made), keepttl=True)
            nxt = _next_recrawl(policy, since, made, recrawl)
            if nxt is None:
                pipe.zrem(keys.seen_due, member)
            else:
                pipe.zadd(keys.seen_due, {member: nxt})
            out.append(DueUrl(source_id, url, "recrawl", etag or None, last_modified or None))
        elif state == "t":
            pipe.set(key, _value("q", since, count), keepttl=True)  # in flight again
            out.append(DueUrl(source_id, url, "retry"))
        elif count + 1 >= policy.max_attempts:  # lost once too often
            pipe.set(key, _value("p", since, count + 1), keepttl=True)
            pipe.zrem(keys.seen_due, member)
        else:
            pipe.set(key, _value("q", since, count + 1), keepttl=True)
            out.append(DueUrl(source_id, url, "lost"))
    pipe.execute()
    return out
