"""Main text and metadata of an article page: trafilatura with a measured fallback chain.

Paths, tried in order until one yields ``min_text_chars`` of text:

1. ``trafilatura``: ``bare_extraction`` without comments and without tables,
   with metadata. Its balanced mode already retries internally with recall
   settings, jusText and its own baseline (JSON-LD ``articleBody``, ``<p>``
   texts) when the first result covers too little of the page;
2. ``trafilatura_tables``: the same with tables, for bodies laid out in tables;
3. ``trafilatura_recall``: ``favor_recall=True``.

A separate ``trafilatura.baseline()`` step was tried and dropped: it never
fired on the 621 development pages, because step 1 already runs it, and its
last resort is the whole page text, boilerplate included.

Before parsing, :func:`repair_html` closes an unclosed ``<title>`` and drops a
truncated doctype, which otherwise make lxml swallow the whole page into
``<head>``. After extraction, :func:`clean_lines` drops the headline line,
whole-link lines and edge boilerplate. Pages that are not articles (headline
link lists, login or cookie walls) are refused with ``NOT_ARTICLE``; see
:mod:`services.worker.pagekind`. Figures are in ``docs/extraction.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import trafilatura
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from services.worker.metadata import PageMetadata, read_metadata
from services.worker.pagekind import not_article_reason, page_links
from shared.errors import PermanentError, Reason

EXTRACTOR = "trafilatura"


@dataclass(frozen=True)
class ExtractOptions:
    min_text_chars: int = 200
    # Larger pages are refused (OVERSIZED) rather than parsed: trafilatura's
    # run time grows with the DOM, and a real article page is far smaller.
    max_html_chars: int = 5_000_000
    # trafilatura's time grows with the element count: ~10 s for 100,000 trivial
    # elements on our machines, against a 60 s task limit. Development-set pages
    # have at most 2,214 elements (median 471); big modern pages stay well under.
    max_dom_nodes: int = 40_000
    # Measured on extraction-dev (docs/extraction.md), each a general rule:
    # Table cells on news pages are mostly boilerplate (sidebars, link boxes,
    # layout); dropping them gained F1 .903 -> .917. A page whose body needs its
    # tables falls back to extraction with tables. Cost: data tables in an
    # article body are not in the text.
    include_tables: bool = False
    # favor_precision lost recall for no gain (F1 .903 -> .902).
    favor_precision: bool = False
    # The headline is stored as ``title``; repeating it as the first line of the
    # text only skews the text (+.0015 F1).
    strip_title_line: bool = True
    # Short lines that are the whole text of a link on the page: related-story
    # headlines and "Email article" tools inside the body (+.0015 F1).
    drop_link_lines: bool = True
    # Copyright, "Advertisement", "Share this" lines at the start or end (+.0004 F1).
    trim_edge_boilerplate: bool = True
    # Comment sections that trafilatura's comment detection misses: cut the
    # text at a heading like "Reader comments (3)" or "Have your say".
    cut_at_comments: bool = True


@dataclass(frozen=True)
class Extraction:
    title: str | None
    text: str
    authors: list[str]
    published_at: datetime | None
    modified_at: datetime | None
    site_name: str | None
    language: str | None
    description: str | None
    canonical_url: str | None
    image_url: str | None
    page_tags: list[str]
    extractor: str
    extractor_version: str
    extraction_path: str
    missing: list[str]


_SPACE = re.compile(r"\s+")
# Fields reported in ``missing`` when nothing was found for them.
_METADATA_FIELDS = (
    "title",
    "authors",
    "published_at",
    "modified_at",
    "site_name",
    "language",
    "description",
    "canonical_url",
    "image_url",
    "page_tags",
)


def normalise_text(text: str | None) -> str:
    """One paragraph per line, whitespace collapsed inside lines, no empty lines."""
    if not text:
        return ""
    # str.split() splits on exactly the characters regex \s matches (str.isspace), in C
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _trafilatura(tree: HtmlElement, url: str, options: ExtractOptions, **kwargs: Any) -> Any:
    try:
        return trafilatura.bare_extraction(
            tree,
            url=url or None,
            include_comments=False,
            include_tables=options.include_tables,
            **kwargs,
        )
    except Exception:
        return None


def _run_chain(
    tree: HtmlElement, url: str, options: ExtractOptions, clean: Callable[[str, Any], str]
) -> tuple[str, str, Any]:
    """(cleaned text, path, trafilatura document) of the first path long enough after cleaning."""
    best_text, best_path = "", "trafilatura"
    document = _trafilatura(
        tree,
        url,
        options,
        favor_precision=options.favor_precision,
        with_metadata=True,
        # Metadata only: no URL (dates in URLs are a separate, weaker source) and
        # no search of the page text.
        date_extraction_params={
            "original_date": True,
            "extensive_search": False,
            "outputformat": "%Y-%m-%dT%H:%M:%S%z",
        },
    )
    text = clean(normalise_text(getattr(document, "text", None)), document)
    if len(text) >= options.min_text_chars:
        return text, "trafilatura", document
    best_text = text

    if not options.include_tables:
        # the article may sit in a layout table: try again with tables
        tables = _trafilatura(tree, url, replace(options, include_tables=True))
        text = clean(normalise_text(getattr(tables, "text", None)), document)
        if len(text) >= options.min_text_chars:
            return text, "trafilatura_tables", document
        if len(text) > len(best_text):
            best_text, best_path = text, "trafilatura_tables"

    recall = _trafilatura(tree, url, replace(options, include_tables=True), favor_recall=True)
    text = clean(normalise_text(getattr(recall, "text", None)), document)
    if len(text) >= options.min_text_chars:
        return text, "trafilatura_recall", document
    if len(text) > len(best_text):
        best_text, best_path = text, "trafilatura_recall"
    return best_text, best_path, document


_EDGE_BOILERPLATE = re.compile(
    r"^(copyright\b|©|\(c\) ?\d{4}|all rights reserved|advertisement\b|related\b|"
    r"click here|share (this|on)\b|e-?mail (this|article)|print (this|article|version)|"
    r"read more\b|more on this\b|comments?\b|tags?:|filed under\b|follow us\b)",
    re.I,
)
# A line that opens a comment section. Only cut after this many words of body,
# so a marker near the top (a teaser box) cannot empty the article.
_COMMENTS_MARKER = re.compile(
    r"^(?:(?:reader|user|your|readers'?) )?(?:comments?|views|reactions|responses|discussion)"
    r"(?: \(\d+\))?:?$"
    r"|^\d+ (?:comments?|responses|replies)$"
    r"|^(?:have your say|add (?:a|your) comment|post a comment|leave a (?:comment|reply)"
    r"|comments (?:are|have been) (?:now )?closed.*|thanks for your comments.*"
    r"|join the (?:discussion|conversation)|(?:show|view|read) (?:all )?(?:\d+ )?comments.*"
    r"|posted by:? .{1,80})$",
    re.I,
)
_COMMENTS_MIN_WORDS_BEFORE = 60
_EDGE_LINES = 3
_EDGE_MAX_WORDS = 15
_LINK_LINE_MAX_WORDS = 12


def clean_lines(text: str, title: str | None, anchors: set[str], options: ExtractOptions) -> str:
    """Drop lines that are not body text: the headline, whole-link lines, edge boilerplate."""
    lines = text.split("\n")
    folded_title = _SPACE.sub(" ", title or "").strip().lower()
    if options.strip_title_line and lines and folded_title and lines[0].lower() == folded_title:
        lines = lines[1:]
    if options.cut_at_comments:
        words = 0
        for index, line in enumerate(lines):
            if words >= _COMMENTS_MIN_WORDS_BEFORE and _COMMENTS_MARKER.match(line):
                lines = lines[:index]
                break
            words += len(line.split())
    if options.drop_link_lines:
        lines = [
            line
            for line in lines
            if not (line.lower() in anchors and len(line.split()) <= _LINK_LINE_MAX_WORDS)
        ]
    if options.trim_edge_boilerplate:

        def is_boilerplate(line: str) -> bool:
            return len(line.split()) <= _EDGE_MAX_WORDS and bool(_EDGE_BOILERPLATE.match(line))

        for _ in range(_EDGE_LINES):
            if lines and is_boilerplate(lines[0]):
                lines.pop(0)
            if lines and is_boilerplate(lines[-1]):
                lines.pop()
    return "\n".join(lines)


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    # trafilatura joins several authors with "; "
    return [a.strip() for a in value.split(";") if a.strip()]


def _first(*values: str | None) -> str | None:
    for value in values:
        if value and value.strip():
            return _SPACE.sub(" ", value).strip()
    return None


def _build(text: str, path: str, document: Any, meta: PageMetadata) -> Extraction:
    get = lambda name: getattr(document, name, None)  # noqa: E731
    tags = list(dict.fromkeys([*(get("categories") or []), *(get("tags") or []), *meta.tags]))
    result = Extraction(
        title=_first(meta.title, get("title")),
        text=text,
        authors=_authors(get("author")) or meta.authors,
        published_at=meta.published_at or meta.trafilatura_date(get("date")),
        modified_at=meta.modified_at,
        site_name=_first(meta.site_name, get("sitename")),
        language=meta.language,
        description=_first(get("description"), meta.description),
        canonical_url=meta.canonical_url,
        image_url=meta.image_url or _first(get("image")),
        page_tags=[t for t in (_first(t) for t in tags) if t],
        extractor=EXTRACTOR,
        extractor_version=trafilatura.__version__,
        extraction_path=path,
        missing=[],
    )
    missing = [name for name in _METADATA_FIELDS if not getattr(result, name)]
    object.__setattr__(result, "missing", missing)
    return result


_TITLE_OPEN = re.compile(r"<title\b[^>]*>", re.I)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.I)
_BROKEN_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*?(?=<)", re.I)


def repair_html(html: str) -> str:
    """Fix the two breakages that make lxml swallow the whole page into ``<head>``.

    An unclosed ``<title>`` (truncated or spliced markup) turns every later tag
    into title text, and a doctype cut before its ``>`` eats the next tag. The
    title is closed at the next ``<``; the broken doctype is dropped.
    """
    repaired = _BROKEN_DOCTYPE.sub("", html, count=1)
    opening = _TITLE_OPEN.search(repaired)
    if opening and not _TITLE_CLOSE.search(repaired, opening.end()):
        cut = repaired.find("<", opening.end())
        if cut != -1:
            repaired = repaired[:cut] + "</title>" + repaired[cut:]
    return repaired


def extract_article(html: str, url: str, options: ExtractOptions) -> Extraction:
    """Extract main text and metadata, or raise ``PermanentError`` with the reason."""
    if len(html) > options.max_html_chars:
        raise PermanentError(Reason.OVERSIZED, f"html of {len(html)} chars > {options.max_html_chars}")
    if not html.strip():
        raise PermanentError(Reason.NO_TEXT, "empty page")
    try:
        tree = load_html(repair_html(html))
    except Exception as exc:
        raise PermanentError(Reason.NO_TEXT, f"unparsable html: {type(exc).__name__}") from exc
    if tree is None:
        raise PermanentError(Reason.NO_TEXT, "unparsable html")

    # Counting walks every node in Python; a bound from the markup settles most pages without
    # it. Each element, comment or processing instruction opens with a "<"; the parser adds at
    # most html, head and body, and a <p> per run of text (which a "<" ends) in a bare <html>.
    if 2 * html.count("<") + 4 > options.max_dom_nodes:
        nodes = sum(1 for _ in tree.iter())
        if nodes > options.max_dom_nodes:
            raise PermanentError(Reason.OVERSIZED, f"{nodes} elements > {options.max_dom_nodes}")

    meta = read_metadata(tree, url)
    links = page_links(tree)
    anchors = links.anchors

    def clean(text: str, document: Any) -> str:
        title = _first(meta.title, getattr(document, "title", None))
        return clean_lines(text, title, anchors, options)

    text, path, document = _run_chain(tree, url, options, clean)
    reason = not_article_reason(tree, text, meta.page_type, links)
    if reason:
        raise PermanentError(Reason.NOT_ARTICLE, reason)
    if len(text) < options.min_text_chars:
        raise PermanentError(Reason.NO_TEXT, f"{len(text)} chars of text < {options.min_text_chars}")
    return _build(text, path, document, meta)
