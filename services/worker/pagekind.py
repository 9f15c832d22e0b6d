"""Is a page an article at all? Headline link lists, login and cookie walls are not.

Signals, all cheap and computed on the parsed page plus the extracted text:

- *headline links*: links of four words or more outweigh the extracted text,
  and no extracted paragraph is longer than a teaser.
- *link lines*: the share of extracted characters on lines whose whole text is
  the text of some link on the page. An article body is prose; a front or
  section page extracts as a column of headlines, each one a link.
- *page link density*: the share of the page's visible text that sits inside
  ``<a>``. High on front pages, moderate on articles (navigation, related links).
- *walls*: a password field or cookie/consent/subscription wording together
  with little text.

Thresholds are set so that none of the 621 article pages of the development
set is refused (see ``docs/extraction.md``), while our own front-page and wall
fixtures are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

__all__ = ["PageSignals", "not_article_reason", "page_anchors", "page_signals"]

_SPACE = re.compile(r"\s+")
_WALL_WORDS = re.compile(
    r"\b(cookies?|consent|sign in|log ?in|subscribe|subscription|paywall|"
    r"enable javascript|verify you are human)\b",
    re.I,
)
_NOT_ARTICLE_TYPES = frozenset({"website", "profile", "video.other", "book", "product"})
# Link lines: more than this share of the text, over at least this many lines.
_MAX_LINK_LINE_SHARE = 0.6
_MIN_LINK_LINES = 6
# Page link density above which a short text is a link list, not a stub article.
_MAX_PAGE_LINK_DENSITY = 0.6
_SHORT_TEXT_WORDS = 150
# Links of this many words read as headlines (navigation links are shorter).
_HEADLINE_MIN_WORDS = 4
# A page whose headline links outweigh its text, and whose text has no
# paragraph as long as this, is a list of teasers. Development-set articles
# whose headline links outweigh their text all have a paragraph of 24+ words.
_MIN_HEADLINE_LINKS = 10
_MAX_TEASER_WORDS = 20


@dataclass(frozen=True)
class PageSignals:
    link_line_share: float
    link_lines: int
    page_link_density: float
    has_password_field: bool
    text_words: int
    headline_link_words: int
    headline_links: int
    longest_line_words: int


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


_SENTENCE_END = re.compile(r"[.!?:;\"'\u201d\u00bb)]$")


def _longest_paragraph_words(lines: list[str]) -> int:
    """Words in the longest paragraph, re-joining hard-wrapped lines.

    Wire copy in ``<pre>`` breaks lines mid-sentence; a line that does not end
    like a sentence continues on the next one.
    """
    longest = current = 0
    for line in lines:
        current += len(line.split())
        if _SENTENCE_END.search(line):
            longest, current = max(longest, current), 0
    return max(longest, current)


def page_anchors(tree: HtmlElement) -> set[str]:
    """Lower-cased, whitespace-collapsed texts of all links on the page."""
    return {anchor for a in tree.iter("a") if (anchor := _norm(a.text_content()))}


def page_signals(tree: HtmlElement, text: str) -> PageSignals:
    body = tree.find(".//body")
    root = body if body is not None else tree
    anchors: set[str] = set()
    link_chars = 0
    headline_words = 0
    headline_links = 0
    for a in root.iter("a"):
        anchor = _norm(a.text_content())
        if anchor:
            words = len(anchor.split())
            if words >= _HEADLINE_MIN_WORDS and anchor not in anchors:
                headline_words += words
                headline_links += 1
            anchors.add(anchor)
            link_chars += len(anchor)
    visible = 0
    for node in root.iter():
        if node.tag in ("script", "style", "noscript") or not isinstance(node.tag, str):
            continue
        for piece in (node.text, node.tail):
            if piece and piece.strip():
                visible += len(_norm(piece))
    lines = [line for line in (_norm(x) for x in text.splitlines()) if line]
    total = sum(len(line) for line in lines)
    linked = [line for line in lines if line in anchors and len(line) >= 12]
    return PageSignals(
        link_line_share=sum(len(line) for line in linked) / total if total else 0.0,
        link_lines=len(linked),
        page_link_density=min(1.0, link_chars / visible) if visible else 0.0,
        has_password_field=bool(root.xpath('.//input[@type="password"]')),
        text_words=len(text.split()),
        headline_link_words=headline_words,
        headline_links=headline_links,
        longest_line_words=_longest_paragraph_words(lines),
    )


def not_article_reason(tree: HtmlElement, text: str, page_type: str | None) -> str | None:
    """A short reason when the page is clearly not an article, else ``None``."""
    s = page_signals(tree, text)
    if s.link_lines >= _MIN_LINK_LINES and s.link_line_share > _MAX_LINK_LINE_SHARE:
        return f"headline list: {s.link_line_share:.0%} of text is link lines"
    if (
        s.headline_links >= _MIN_HEADLINE_LINKS
        and s.headline_link_words > s.text_words
        and s.longest_line_words < _MAX_TEASER_WORDS
    ):
        return (
            f"headline list: {s.headline_links} headline links, longest paragraph "
            f"{s.longest_line_words} words"
        )
    short = s.text_words < _SHORT_TEXT_WORDS
    wall_words = len(_WALL_WORDS.findall(text))
    # A login box in a sidebar is common next to short articles: the password
    # field counts only when the extracted text itself asks the reader to sign in.
    if short and s.has_password_field and wall_words:
        return "login wall"
    if short and wall_words >= 2:
        return "cookie or subscription wall"
    # Short articles on link-heavy templates exist, so density alone is not
    # enough: the page must also not call itself an article.
    if short and s.page_link_density > _MAX_PAGE_LINK_DENSITY and page_type in _NOT_ARTICLE_TYPES:
        return f"link-dense page ({s.page_link_density:.0%} link text) with little text"
    return None
