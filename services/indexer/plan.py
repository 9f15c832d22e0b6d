"""Deciding what one bulk write does with each document: pure functions, no I/O.

* new article          -> ``create`` in the index of its publication year;
* same ``content_hash`` -> nothing (a replay is a no-op);
* changed text         -> ``index`` over the stored copy with ``version + 1`` and
  ``changed_at``, guarded by ``if_seq_no``/``if_primary_term`` so two indexers racing on
  one article cannot lose an update (the loser gets 409 and re-plans).

Why the year of publication and not a rollover write alias: ``_id`` must pin one article
to one index, or a re-crawl after rollover would index it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.indexer.templates import index_for


@dataclass(frozen=True)
class Stored:
    """What the index already holds for an ``_id``."""

    index: str
    content_hash: str | None
    version: int
    seq_no: int
    primary_term: int


class Verdict(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    RETRY = "retry"
    REJECTED = "rejected"


def prepare_source(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Fields the indexer owns: when it was indexed, ingest and pipeline lag, the collapse key."""
    source = dict(doc)
    source["indexed_at"] = now.isoformat()
    published = datetime.fromisoformat(str(doc["published_at"]))
    source["ingest_lag_seconds"] = max(0, int((now - published).total_seconds()))
    if doc.get("discovered_at"):  # the pipeline's own lag: crawler discovery -> indexed
        discovered = datetime.fromisoformat(str(doc["discovered_at"]))
        source["pipeline_lag_seconds"] = round(max(0.0, (now - discovered).total_seconds()), 3)
    source["dedup_key"] = doc.get("duplicate_of") or doc["id"]
    return source


def plan_action(
    doc: dict[str, Any], stored: Stored | None, prefix: str, now: datetime
) -> dict[str, Any] | None:
    """The bulk action for ``doc``, or None when the stored copy is already current."""
    source = prepare_source(doc, now)
    if stored is None:
        source["version"] = 1
        return {
            "_op_type": "create",
            "_index": index_for(prefix, str(doc["published_at"])),
            "_id": doc["id"],
            "_source": source,
        }
    if stored.content_hash == doc.get("content_hash"):
        return None
    source["version"] = stored.version + 1
    source["changed_at"] = now.isoformat()
    return {
        "_op_type": "index",
        "_index": stored.index,
        "_id": doc["id"],
        "if_seq_no": stored.seq_no,
        "if_primary_term": stored.primary_term,
        "_source": source,
    }


def classify_item(ok: bool, item: dict[str, Any]) -> Verdict:
    """Map one bulk item result to what happens next."""
    result: dict[str, Any] = next(iter(item.values()), {}) if item else {}
    if ok:
        return Verdict.UPDATED if result.get("result") == "updated" else Verdict.CREATED
    status = result.get("status")
    # 409: someone wrote first (re-plan); 429/5xx or no status (connection lost): try later.
    if not isinstance(status, int) or status in (409, 429) or status >= 500:
        return Verdict.RETRY
    return Verdict.REJECTED


def item_error(item: dict[str, Any]) -> str:
    result: dict[str, Any] = next(iter(item.values()), {}) if item else {}
    error = result.get("error") or result.get("exception") or "unknown error"
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error)
