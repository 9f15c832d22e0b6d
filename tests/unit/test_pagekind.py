"""Page kind: the lazily computed verdict equals the verdict on all signals at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from services.worker import pagekind
from services.worker.pagekind import PageSignals, not_article_reason, page_anchors, page_links, page_signals

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"


def _verdict(s: PageSignals, text: str, page_type: str | None) -> str | None:
    """The decision on every signal computed up front, as the page kind was first written."""
    if s.link_lines >= pagekind._MIN_LINK_LINES and s.link_line_share > pagekind._MAX_LINK_LINE_SHARE:
        return f"headline list: {s.link_line_share:.0%} of text is link lines"
    if (
        s.headline_links >= pagekind._MIN_HEADLINE_LINKS
        and s.headline_link_words > s.text_words
        and s.longest_line_words < pagekind._MAX_TEASER_WORDS
    ):
        return (
            f"headline list: {s.headline_links} headline links, longest paragraph "
            f"{s.longest_line_words} words"
        )
    short = s.text_words < pagekind._SHORT_TEXT_WORDS
    wall_words = len(pagekind._WALL_WORDS.findall(text))
    if short and s.has_password_field and wall_words:
        return "login wall"
    if short and wall_words >= 2:
        return "cookie or subscription wall"
    if (
        short
        and s.page_link_density > pagekind._MAX_PAGE_LINK_DENSITY
        and page_type in pagekind._NOT_ARTICLE_TYPES
    ):
        return f"link-dense page ({s.page_link_density:.0%} link text) with little text"
    return None


def _tree(html: str) -> HtmlElement:
    tree = load_html(html)
    assert tree is not None
    return tree


LINKS = "".join(
    f"<li><a href='/n/{i}'>Headline number {i} about the news of the day</a></li>" for i in range(30)
)
CASES = [
    *(path.read_text("utf-8", errors="replace") for path in sorted(PAGES.glob("*.html"))),
    f"<html><body><ul>{LINKS}</ul><p>Short text.</p></body></html>",
    "<html><body><form><input type='password'></form><p>Please sign in to read. Log in now.</p></body></html>",
    "<html><body><p>We use cookies. Accept cookies and consent to subscribe.</p></body></html>",
    "<html><head><a href='/x'>A link in the head</a></head><body><p>Body text</p></body></html>",
    "<p>No body element, <a href='/y'>a link</a> and <script>var x</script> text.</p>",
]


@pytest.mark.parametrize("html", CASES)
@pytest.mark.parametrize("page_type", [None, "article", "website"])
def test_lazy_verdict_equals_the_verdict_on_all_signals(html: str, page_type: str | None) -> None:
    tree = _tree(html)
    texts = [
        "Short text.",
        "Please sign in to read. Log in now.",
        "We use cookies. Accept cookies and consent to subscribe.",
        "\n".join(f"headline number {i} about the news of the day" for i in range(10)),
        " ".join(["word"] * 200),
    ]
    for text in texts:
        expected = _verdict(page_signals(tree, text), text, page_type)
        assert not_article_reason(tree, text, page_type) == expected
        assert not_article_reason(tree, text, page_type, page_links(tree)) == expected


@pytest.mark.parametrize("html", CASES)
def test_page_links_know_every_link_on_the_page(html: str) -> None:
    tree = _tree(html)
    assert page_links(tree).anchors == page_anchors(tree)
