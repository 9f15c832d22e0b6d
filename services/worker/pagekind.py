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
    # the same as collapsing regex \s runs and stripping: str.split() splits on str.isspace
    return " ".join(text.split()).lower()


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


@dataclass(frozen=True)
class PageLinks:
    """The page's links, read in one pass and shared by text cleaning and the signals below."""

    anchors: set[str]  # every link text on the page, lower-cased, whitespace collapsed
    body_anchors: set[str]  # those inside <body> (the whole page when it has none)
    link_chars: int  # characters of link text inside <body>
    headline_words: int  # words of the distinct headline-length link texts
    headline_links: int  # how many distinct headline-length link texts


def page_links(tree: HtmlElement) -> PageLinks:
    body = tree.find(".//body")
    root = body if body is not None else tree
    anchors: set[str] = set()
    link_chars = headline_words = headline_links = 0
    for a in root.iter("a"):
        anchor = _norm(a.text_content())
        if anchor:
            words = len(anchor.split())
            if words >= _HEADLINE_MIN_WORDS and anchor not in anchors:
                headline_words += words
                headline_links += 1
            anchors.add(anchor)
            link_chars += len(anchor)
    everywhere = anchors
    if body is not None and tree.xpath("count(//a)") != body.xpath("count(.//a)"):
        # links outside <body> (rare): text cleaning knows them too
        everywhere = anchors | page_anchors(tree)
    return PageLinks(everywhere, anchors, link_chars, headline_words, headline_links)


def page_anchors(tree: HtmlElement) -> set[str]:
    """Lower-cased, whitespace-collapsed texts of all links on the page."""
    return {anchor for a in tree.iter("a") if (anchor := _norm(a.text_content()))}


def _root(tree: HtmlElement) -> HtmlElement:
    body = tree.find(".//body")
    return body if body is not None else tree


def _visible_chars(root: HtmlElement) -> int:
    visible = 0
    for node in root.iter():
        if node.tag in ("script", "style", "noscript") or not isinstance(node.tag, str):
            continue
        for piece in (node.text, node.tail):
            if piece and piece.strip():
                visible += len(_norm(piece))
    return visible


def _has_password_field(root: HtmlElement) -> bool:
    return bool(root.xpath('.//input[@type="password"]'))


@dataclass(frozen=True)
class _TextSignals:
    link_line_share: float
    link_lines: int
    text_words: int
    longest_line_words: int


def _text_signals(text: str, body_anchors: set[str]) -> _TextSignals:
    lines = [line for line in (_norm(x) for x in text.splitlines()) if line]
    total = sum(len(line) for line in lines)
    linked = [line for line in lines if line in body_anchors and len(line) >= 12]
    return _TextSignals(
        link_line_share=sum(len(line) for line in linked) / total if total else 0.0,
        link_lines=len(linked),
        text_words=len(text.split()),
        longest_line_words=_longest_paragraph_words(lines),
    )


def page_signals(tree: HtmlElement, text: str, links: PageLinks | None = None) -> PageSignals:
    """Every signal at once (for inspection; :func:`not_article_reason` computes only what it needs)."""
    links = links or page_links(tree)
    root = _root(tree)
    visible = _visible_chars(root)
    t = _text_signals(text, links.body_anchors)
    return PageSignals(
        link_line_share=t.link_line_share,
        link_lines=t.link_lines,
        page_link_density=min(1.0, links.link_chars / visible) if visible else 0.0,
        has_password_field=_has_password_field(root),
        text_words=t.text_words,
        headline_link_words=links.headline_words,
        headline_links=links.headline_links,
        longest_line_words=t.longest_line_words,
    )


def not_article_reason(
    tree: HtmlElement, text: str, page_type: str | None, links: PageLinks | None = None
) -> str | None:
    """A short reason when the page is clearly not an article, else ``None``.

    The signals that walk the whole page (visible text, a password field) are read only when
    the cheap ones leave the question open: for most articles they are never needed.
    """
    links = links or page_links(tree)
    s = _text_signals(text, links.body_anchors)
    if s.link_lines >= _MIN_LINK_LINES and s.link_line_share > _MAX_LINK_LINE_SHARE:
        return f"headline list: {s.link_line_share:.0%} of text is link lines"
    if (
        links.headline_links >= _MIN_HEADLINE_LINKS
        and links.headline_words > s.text_words
        and s.longest_line_words < _MAX_TEASER_WORDS
    ):
        return (
            f"headline list: {links.headline_links} headline links, longest paragraph "
            f"{s.longest_line_words} words"
        )
    short = s.text_words < _SHORT_TEXT_WORDS
    if not short:
        return None
    wall_words = len(_WALL_WORDS.findall(text))
    # A login box in a sidebar is common next to short articles: the password
    # field counts only when the extracted text itself asks the reader to sign in.
    if wall_words and _has_password_field(_root(tree)):
        return "login wall"
    if wall_words >= 2:
        return "cookie or subscription wall"
    # Short articles on link-heavy templates exist, so density alone is not
    # enough: the page must also not call itself an article.
    if page_type in _NOT_ARTICLE_TYPES:
        visible = _visible_chars(_root(tree))
        density = min(1.0, links.link_chars / visible) if visible else 0.0
        if density > _MAX_PAGE_LINK_DENSITY:
            return f"link-dense page ({density:.0%} link text) with little text"
    return None
