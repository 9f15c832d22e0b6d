"""From fetched page bytes to an article document: the worker's pure pipeline.

decode -> parse and extract -> date -> language -> tokens -> SimHash, duplicate lookup,
topics, places -> document. The text is tokenised once (:class:`~services.worker.tokens.Tokens`)
and the analyses read the same tokens. Duplicate lookup needs Redis, so the caller passes in
a function for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.worker.build import Findings, Page, build_document, choose_canonical
from services.worker.dates import choose_published_at, date_from_url
from services.worker.decode import decode_html
from services.worker.extract import ExtractOptions, extract_article
from services.worker.language import identify_language
from services.worker.places import find_places
from services.worker.similarity import SIMHASH_BANDS, simhash_bands, simhash_words
from services.worker.tokens import Tokens
from services.worker.topic_model import TAGGER_NAME, TAGGER_VERSION, tag_topics
from shared.document import ArticleDocument, content_hash, document_id
from shared.errors import PermanentError, Reason
from shared.metrics import timed


@dataclass(frozen=True)
class DuplicateQuery:
    doc_id: str
    text_hash: str
    simhash: int
    bands: list[str]


FindOriginal = Callable[[DuplicateQuery], str | None]


def build_article(
    page: Page,
    body: bytes,
    charset: str | None,
    options: ExtractOptions,
    find_original: FindOriginal,
    normalize: Callable[[str], str | None],
) -> ArticleDocument:
    """Raise PermanentError with a reason for anything that is not a usable article."""
    html = decode_html(body, charset)
    with timed("extract"):  # newsflow_step_duration_seconds{step="extract"}
        extraction = extract_article(html, page.url, options)
    title = extraction.title or page.feed_title
    if not title:
        raise PermanentError(Reason.NOT_ARTICLE, "no title")
    declared = normalize(extraction.canonical_url) if extraction.canonical_url else None
    canonical = choose_canonical(page.url, declared)
    published_at, date_source = choose_published_at(
        extraction.published_at, page.feed_published_at, date_from_url(page.url), page.fetched_at
    )
    text = extraction.text
    # The text decides the language; the page's markup is only a hint (language.py).
    language = identify_language(title, text, extraction.language).language
    tokens = Tokens(text)
    fingerprint = simhash_words(tokens.words)
    text_hash = content_hash(text)
    doc_id = document_id(canonical)
    original = find_original(
        DuplicateQuery(doc_id, text_hash, fingerprint, simhash_bands(fingerprint, SIMHASH_BANDS))
    )
    with timed("tag"):
        topics = tag_topics(title, text, language)
    findings = Findings(
        canonical_url=canonical,
        title=title,
        language=language,
        published_at=published_at,
        published_at_source=date_source,
        text_hash=text_hash,
        simhash=fingerprint,
        duplicate_of=original,
        topics=topics,
        places=find_places(text, language, tokens=tokens),
        tagger=TAGGER_NAME,
        tagger_version=TAGGER_VERSION,
    )
    return build_document(page, extraction, findings)
