"""Per-source health: what every source did lately, where operators and analysts look.

Two halves:

* **Recording** (:class:`HealthNotes`, fed by ``shared.outcomes`` for every outcome that names a
  source: a ``source_id``/``source`` field or the bound log context): per source, counts by
  ``stage:outcome[:reason]``, the time of the last outcome of each kind, and articles first
  indexed per UTC day. Written in the same Redis round trip as the outcome counters.
* **Reading** (:func:`source_health`): one row per configured source, joining those Redis notes
  with one Elasticsearch aggregation over the article alias (the truth about articles): last
  successful poll, last new article, articles per day (last 7 days), error and skip rates by
  reason, median ingest lag, and whether the source is **silent**: nothing published for longer
  than three times its usual gap (the median gap between its last 50 articles), and never less
  than ``POLL_MAX_SECONDS`` (nobody can expect news faster than we look).

``newsflow status`` prints the rows as a table; ``newsflow health`` writes them to
``<INDEX_PREFIX>-sources`` (one document per source), which the Kibana dashboard
"newsflow: source health" reads.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import redis
import structlog
from elasticsearch import Elasticsearch, helpers

from shared.keys import Keys

log = structlog.get_logger(__name__)

# Outcomes that are neither a success nor a skip: the item failed (for now or for good).
ERROR_OUTCOMES = frozenset({"failed", "retry", "dead_letter", "rejected", "error", "poison"})
SKIP_OUTCOMES = frozenset({"skipped", "superseded", "duplicate", "truncated"})
NEUTRAL_OUTCOMES = frozenset({"wait", "deferred", "waiting", "delayed", "enqueued"})  # not yet an outcome
POLL_STAGES = frozenset({"crawl", "poll"})
NEW_ARTICLE = ("index", "created")
SILENCE_FACTOR = 3.0
GAP_SAMPLE = 50
RATE_DAYS = 7


def source_of(fields: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> str | None:
    """The item's source: its fields, else the bound log ``context`` (read now if not given)."""
    value = fields.get("source_id") or fields.get("source")
    if not value:
        value = (structlog.contextvars.get_contextvars() if context is None else context).get("source_id")
    return str(value)[:200] if value else None


class HealthNotes:
    """The per-source part of one batch of outcomes (see ``OutcomeTally``)."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys
        self._counts: Counter[tuple[str, str]] = Counter()
        self._last: dict[tuple[str, str], float] = {}
        self._daily: Counter[tuple[str, str]] = Counter()

    def note(
        self,
        stage: str,
        outcome: str,
        reason: str | None,
        fields: Mapping[str, Any],
        context: Mapping[str, Any] | None = None,
    ) -> None:
        source = source_of(fields, context)
        if source is None:
            return
        now = datetime.now(UTC)
        self._counts[(source, f"n:{stage}:{outcome}" + (f":{reason}" if reason else ""))] += 1
        self._last[(source, f"t:{stage}:{outcome}")] = now.timestamp()
        if (stage, outcome) == NEW_ARTICLE:
            self._daily[(source, now.strftime("%Y-%m-%d"))] += 1

    def write(self, pipe: Any) -> None:
        sources = {s for s, _ in self._counts}
        for (source, name), n in self._counts.items():
            pipe.hincrby(self._keys.source_health(source), name, n)
        for (source, name), stamp in self._last.items():
            pipe.hset(self._keys.source_health(source), name, repr(stamp))
        for (source, day), n in self._daily.items():
            pipe.hincrby(self._keys.source_daily(source), day, n)
        if sources:
            pipe.sadd(self._keys.health_sources, *sources)
        self.clear()

    def clear(self) -> None:
        self._counts.clear()
        self._last.clear()
        self._daily.clear()


@dataclass
class SourceHealth:
    source: str
    name: str = ""
    home_url: str = ""
    updated_at: str = ""
    last_poll_at: str | None = None
    last_success_at: str | None = None
    last_article_at: str | None = None
    articles_total: int = 0
    articles_per_day: float = 0.0
    usual_gap_seconds: float | None = None
    silent_seconds: float | None = None
    silent: bool = False
    median_ingest_lag_seconds: float | None = None
    polls: int = 0
    poll_errors: int = 0
    items: int = 0
    errors: int = 0
    skips: int = 0
    error_rate: float = 0.0
    skip_rate: float = 0.0
    top_reason: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return asdict(self)


def _iso(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, UTC).isoformat() if stamp else None


def summarize_notes(raw: Mapping[str, str]) -> dict[str, Any]:
    """Counts, rates and last times from one source's Redis hash (pure)."""
    counts = {k[2:]: int(v) for k, v in raw.items() if k.startswith("n:")}
    times = {k[2:]: float(v) for k, v in raw.items() if k.startswith("t:")}
    reasons: Counter[str] = Counter()
    items = errors = skips = polls = poll_errors = 0
    for name, n in counts.items():
        stage, outcome, *reason = name.split(":", 2)
        items += n
        if stage in POLL_STAGES:
            polls += n
        if outcome in ERROR_OUTCOMES:
            errors += n
            poll_errors += n if stage in POLL_STAGES else 0
        elif outcome in SKIP_OUTCOMES or (reason and outcome not in NEUTRAL_OUTCOMES):
            skips += n
        if reason:
            reasons[reason[0]] += n
    poll_times = [t for name, t in times.items() if name.split(":", 1)[0] in POLL_STAGES]
    good_polls = [
        t
        for name, t in times.items()
        if name.split(":", 1)[0] in POLL_STAGES
        and name.split(":", 1)[1] not in ERROR_OUTCOMES | NEUTRAL_OUTCOMES
    ]
    counted = max(items, 1)
    return {
        "items": items,
        "errors": errors,
        "skips": skips,
        "polls": polls,
        "poll_errors": poll_errors,
        "error_rate": round(errors / counted, 4),
        "skip_rate": round(skips / counted, 4),
        "reasons": dict(reasons),
        "top_reason": reasons.most_common(1)[0][0] if reasons else None,
        "last_poll_at": _iso(max(poll_times)) if poll_times else None,
        "last_success_at": _iso(max(good_polls)) if good_polls else None,
    }


def usual_gap(published: Iterable[datetime]) -> float | None:
    """Median gap in seconds between consecutive articles (newest first or any order)."""
    ordered = sorted(published)
    gaps = [(b - a).total_seconds() for a, b in pairwise(ordered)]
    gaps = [g for g in gaps if g > 0]
    return statistics.median(gaps) if gaps else None


def is_silent(silent_seconds: float | None, gap: float | None, floor_seconds: float) -> bool:
    if silent_seconds is None or gap is None:
        return False
    return silent_seconds > max(SILENCE_FACTOR * gap, floor_seconds)


def _article_stats(es: Elasticsearch, alias: str, now: datetime) -> dict[str, dict[str, Any]]:
    since = (now - timedelta(days=RATE_DAYS)).isoformat()
    aggs: dict[str, Any] = {
        "sources": {
            "terms": {"field": "source", "size": 10_000},
            "aggs": {
                "last": {"max": {"field": "published_at"}},
                "recent": {"filter": {"range": {"indexed_at": {"gte": since}}}},
                "lag": {"percentiles": {"field": "ingest_lag_seconds", "percents": [50]}},
                "latest": {
                    "top_hits": {
                        "size": GAP_SAMPLE,
                        "sort": [{"published_at": "desc"}],
                        "_source": ["published_at"],
                    }
                },
            },
        }
    }
    result = es.options(ignore_status=404).search(
        index=alias, size=0, query={"range": {"published_at": {"lte": now.isoformat()}}}, aggs=aggs
    )
    stats: dict[str, dict[str, Any]] = {}
    for bucket in result.get("aggregations", {}).get("sources", {}).get("buckets", []):
        hits = bucket["latest"]["hits"]["hits"]
        published = [datetime.fromisoformat(h["_source"]["published_at"]) for h in hits]
        lag = (bucket["lag"].get("values") or {}).get("50.0")
        stats[bucket["key"]] = {
            "articles_total": int(bucket["doc_count"]),
            "articles_per_day": round(bucket["recent"]["doc_count"] / RATE_DAYS, 2),
            "last_article": bucket["last"].get("value_as_string"),
            "usual_gap_seconds": usual_gap(published),
            "median_ingest_lag_seconds": float(lag) if lag is not None else None,
        }
    return stats


def source_health(
    r: redis.Redis,
    keys: Keys,
    es: Elasticsearch | None,
    alias: str,
    sources: Mapping[str, Any],
    *,
    silence_floor_seconds: float,
    now: datetime | None = None,
) -> list[SourceHealth]:
    """One row per configured source (and per source that recorded outcomes but is gone)."""
    now = now or datetime.now(UTC)
    ids = sorted(set(sources) | {str(s) for s in r.smembers(keys.health_sources)})
    pipe = r.pipeline(transaction=False)
    for sid in ids:
        pipe.hgetall(keys.source_health(sid))
    notes = dict(zip(ids, pipe.execute(), strict=True))
    articles: dict[str, dict[str, Any]] = {}
    if es is not None:
        try:
            articles = _article_stats(es, alias, now)
        except Exception as exc:  # a status table must still show the Redis half
            log.warning("source_health_es_failed", error=str(exc)[:200])
    rows = []
    for sid in ids:
        src = sources.get(sid)
        row = SourceHealth(
            source=sid,
            name=str(getattr(src, "name", "") or ("(not in the sources file)" if src is None else "")),
            home_url=str(getattr(src, "home_url", "") or ""),
            updated_at=now.isoformat(),
            **summarize_notes(notes.get(sid) or {}),
        )
        stats = articles.get(sid)
        if stats:
            row.articles_total = stats["articles_total"]
            row.articles_per_day = stats["articles_per_day"]
            row.usual_gap_seconds = stats["usual_gap_seconds"]
            row.median_ingest_lag_seconds = stats["median_ingest_lag_seconds"]
            if stats["last_article"]:
                last = datetime.fromisoformat(stats["last_article"].replace("Z", "+00:00"))
                row.last_article_at = last.isoformat()
                row.silent_seconds = max(0.0, (now - last).total_seconds())
        row.silent = is_silent(row.silent_seconds, row.usual_gap_seconds, silence_floor_seconds)
        rows.append(row)
    return rows


def write_health(es: Elasticsearch, index: str, rows: Iterable[SourceHealth]) -> int:
    """Overwrite one document per source in ``index``; returns how many were written."""
    actions = [{"_index": index, "_id": row.source, "_source": row.document()} for row in rows]
    if not actions:
        return 0
    ok, _errors = helpers.bulk(es, actions, refresh="wait_for", raise_on_error=True)
    return int(ok)


def _ago(iso: str | None, now: datetime) -> str:
    if not iso:
        return "-"
    seconds = (now - datetime.fromisoformat(iso)).total_seconds()
    return _duration(seconds) + " ago"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def render_table(rows: Iterable[SourceHealth], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    header = (
        "source",
        "last ok poll",
        "last article",
        "per day",
        "errors",
        "skips",
        "top reason",
        "lag p50",
        "",
    )
    lines = [header]
    for row in rows:
        lines.append(
            (
                row.source,
                _ago(row.last_success_at, now),
                _ago(row.last_article_at, now),
                f"{row.articles_per_day:g}",
                f"{row.error_rate:.0%}",
                f"{row.skip_rate:.0%}",
                row.top_reason or "-",
                _duration(row.median_ingest_lag_seconds),
                "SILENT" if row.silent else "",
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
