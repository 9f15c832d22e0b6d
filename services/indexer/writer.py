"""Writing a batch of documents with the bulk helpers, reading every item's result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from services.indexer.plan import Stored, Verdict, classify_item, item_error, plan_action
from services.indexer.templates import index_for


@dataclass(frozen=True)
class ItemResult:
    doc_id: str
    verdict: Verdict
    error: str | None = None


def lookup_stored(es: Elasticsearch, prefix: str, docs: Sequence[dict[str, Any]]) -> dict[str, Stored]:
    """What the index holds for these ids: realtime ``mget`` in the expected year, then a
    search on the alias for any article whose copy lives in another index (an older layout)."""
    found: dict[str, Stored] = {}
    wanted = [
        {
            "_index": index_for(prefix, str(d["published_at"])),
            "_id": d["id"],
        }
        for d in docs
    ]
    response = es.mget(docs=wanted, source_includes=["content_hash", "version"])
    for hit in response["docs"]:
        if hit.get("found"):
            found[hit["_id"]] = _stored(hit)
    missing = [d["id"] for d in docs if d["id"] not in found]
    if missing:
        result = es.options(ignore_status=404).search(
            index=prefix,
            query={"ids": {"values": missing}},
            size=len(missing),
            seq_no_primary_term=True,
            source_includes=["content_hash", "version"],
        )
        for hit in result.get("hits", {}).get("hits", []):
            found.setdefault(hit["_id"], _stored(hit))
    return found


def _stored(hit: dict[str, Any]) -> Stored:
    source = hit.get("_source", {})
    return Stored(
        index=hit["_index"],
        content_hash=source.get("content_hash"),
        version=int(source.get("version", 1)),
        seq_no=int(hit["_seq_no"]),
        primary_term=int(hit["_primary_term"]),
    )


def write_batch(
    es: Elasticsearch,
    prefix: str,
    docs: Sequence[dict[str, Any]],
    now: datetime,
    *,
    max_chunk_docs: int,
    max_chunk_bytes: int,
) -> list[ItemResult]:
    """Write ``docs`` (validated, unique ids) and say what became of each.

    Raises ``elasticsearch`` connection/transport errors when the cluster cannot be read
    at all; the caller requeues the whole batch.
    """
    stored = lookup_stored(es, prefix, docs)
    results: list[ItemResult] = []
    actions = []
    for doc in docs:
        action = plan_action(doc, stored.get(doc["id"]), prefix, now)
        if action is None:
            results.append(ItemResult(doc["id"], Verdict.UNCHANGED))
        else:
            actions.append(action)
    for ok, item in helpers.streaming_bulk(
        es,
        actions,
        chunk_size=max_chunk_docs,
        max_chunk_bytes=max_chunk_bytes,
        raise_on_error=False,
        raise_on_exception=False,
        max_retries=0,  # retries are requeues with backoff, never sleeps inside a task
    ):
        body: dict[str, Any] = next(iter(item.values()), {})
        doc_id = str(body.get("_id", "?"))
        verdict = classify_item(ok, item)
        results.append(ItemResult(doc_id, verdict, None if ok else item_error(item)))
    return results
