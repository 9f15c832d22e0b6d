"""Re-tag a stored article in place (``worker.retag_document``), without re-crawling it.

Two parts, so the task shell stays a declaration:

- ``retag_fields(source)``: pure. From a stored document's ``_source`` it computes the
  fields the current tagger would write (language from the text, topics, tagger and
  tagger_version), or None when the document is already current.
- ``retag_document(deps, message)``: the ``shared.runner`` handler for
  ``RetagDocument(doc_id, index)``; the worker's tasks.py declares it as
  ``Stage(TaskName.RETAG_DOCUMENT, RetagDocument, retag.retag_document, "extract", "retag")``.
- ``retag_in_index(es, doc_id, index)``: reads the document, and writes just those fields
  back with optimistic concurrency (``if_seq_no``/``if_primary_term``): if the indexer
  rewrote the document in between, the write is refused and the read/compute/write is
  tried again (the indexer's newer copy was tagged by the current tagger anyway).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError, TransportError

from services.worker.language import identify_language
from services.worker.topic_model import TAGGER_NAME, TAGGER_VERSION, tag_topics
from shared.deps import Deps
from shared.errors import Reason, RetryableError
from shared.messages import RetagDocument
from shared.runner import Outcome

# Read/compute/write rounds before giving up on a document the indexer keeps rewriting.
MAX_ROUNDS = 3


class RetagResult(StrEnum):
    RETAGGED = "retagged"
    CURRENT = "current"  # already tagged by this tagger version: nothing written
    MISSING = "missing"  # no such document in that index
    CONFLICT = "conflict"  # rewritten concurrently MAX_ROUNDS times in a row


def retag_fields(source: dict[str, Any], *, force: bool = False) -> dict[str, Any] | None:
    """The fields to update, or None if ``source`` was tagged by the current tagger."""
    if (
        not force
        and source.get("tagger") == TAGGER_NAME
        and source.get("tagger_version") == TAGGER_VERSION
        and source.get("language")
    ):
        return None
    title = str(source.get("title") or "")
    text = str(source.get("text") or "")
    language = identify_language(title, text, source.get("language")).language
    topics = tag_topics(title, text, language)
    return {
        "language": language,
        "topics": [t.model_dump() for t in topics],
        "tagger": TAGGER_NAME,
        "tagger_version": TAGGER_VERSION,
    }


def retag_in_index(es: Elasticsearch, doc_id: str, index: str, *, force: bool = False) -> RetagResult:
    """Re-tag one stored document; ``index`` is the concrete index it lives in."""
    for _ in range(MAX_ROUNDS):
        try:
            hit = es.get(
                index=index,
                id=doc_id,
                source_includes=["title", "text", "language", "tagger", "tagger_version"],
            )
        except NotFoundError:
            return RetagResult.MISSING
        fields = retag_fields(dict(hit["_source"]), force=force)
        if fields is None:
            return RetagResult.CURRENT
        try:
            es.update(
                index=index,
                id=doc_id,
                doc=fields,
                if_seq_no=hit["_seq_no"],
                if_primary_term=hit["_primary_term"],
                refresh=False,
            )
        except ConflictError:
            continue
        except NotFoundError:
            return RetagResult.MISSING
        return RetagResult.RETAGGED
    return RetagResult.CONFLICT


def retag_document(deps: Deps, message: RetagDocument) -> Outcome:
    """Runner handler: one outcome per message, ``retag:<retagged|current|missing|conflict>``.

    Elasticsearch away or overloaded is retryable (the runner's backoff); any other refusal
    is a bug or a bad index name, dead-lettered by the runner for a look.
    """
    try:
        result = retag_in_index(deps.es, message.doc_id, message.index)
    except TransportError as exc:  # connection refused, timeout
        raise RetryableError(Reason.INDEX_UNAVAILABLE, str(exc)[:300]) from exc
    except ApiError as exc:
        if exc.meta.status == 429 or exc.meta.status >= 500:
            raise RetryableError(Reason.INDEX_UNAVAILABLE, str(exc)[:300]) from exc
        raise
    return Outcome(
        f"document_{result.value}",
        result.value,
        fields={"doc_id": message.doc_id, "index": message.index, "tagger_version": TAGGER_VERSION},
    )
