"""extract_article and decode_html on our own fixture pages (tests/fixtures/pages/)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.worker.decode import decode_html
from services.worker.extract import (
    ExtractOptions,
    clean_lines,
    extract_article,
    normalise_text,
    repair_html,
)
from shared.errors import PermanentError, Reason

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
EN_URL = "https://ledger.example/news/2024/03/14/port-ellery-ferry-pier-rebuild?utm_source=feed"
RU_URL = "https://vesti.example/city/2023/09/21/most"
OPTIONS = ExtractOptions()


def page(name: str) -> str:
    return decode_html((PAGES / name).read_bytes(), None)


@pytest.fixture(scope="module")
def article_en():
    return extract_article(page("article_en.html"), EN_URL, OPTIONS)


# --- main text -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fragment",
    [
        "Councillors in Port Ellery voted on Wednesday evening",
        "replaces the timber piles with steel",
        "Tonight we finally gave them a date.",
        "the council will borrow against its harbour dues",
        "as soon as the new landing stage is certified.",
    ],
)
def test_body_paragraphs_are_in_text(article_en, fragment):
    assert fragment in article_en.text


@pytest.mark.parametrize(
    "boilerplate",
    [
        "Subscribe today",  # navigation
        "Spring sale on garden furniture",  # advertisement
        "Storm surge damage survey published",  # related links
        "the buses never meet the boat",  # reader comment
        "Mark my words",  # reader comment
        "All rights reserved",  # footer
        "Privacy policy",  # footer
        "Share on Facebook",  # share tools
        "adSlots",  # script
    ],
)
def test_boilerplate_is_not_in_text(article_en, boilerplate):
    assert boilerplate not in article_en.text


def test_text_is_one_paragraph_per_line_with_normalised_spaces(article_en):
    lines = article_en.text.split("\n")
    assert len(lines) >= 6
    assert all(line == line.strip() and "  " not in line and line for line in lines)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("title", "Harbour town votes to rebuild its flooded ferry pier"),
        ("authors", ["Maren Holt"]),
        ("published_at", datetime(2024, 3, 14, 7, 30, tzinfo=UTC)),
        ("modified_at", datetime(2024, 3, 14, 10, 5, tzinfo=UTC)),
        ("site_name", "The Coastal Ledger"),
        ("language", "en"),
        ("canonical_url", "https://ledger.example/news/2024/03/14/port-ellery-ferry-pier-rebuild"),
        ("image_url", "https://ledger.example/media/2024/03/pier-ruins.jpg"),
        ("page_tags", ["Transport", "Local government"]),
        ("extractor", "trafilatura"),
        ("extraction_path", "trafilatura"),
        ("missing", []),
    ],
)
def test_metadata_of_article(article_en, field, expected):
    assert getattr(article_en, field) == expected


def test_dates_are_utc(article_en):
    assert article_en.published_at.utcoffset().total_seconds() == 0


def test_missing_lists_fields_not_found():
    html = (
        "<html><head><title>Plain page</title></head><body><article>"
        + "".join(
            f"<p>Paragraph {i} of plain reporting, without any metadata at all.</p>"
            for i in range(8)
        )
        + "</article></body></html>"
    )
    result = extract_article(html, "https://plain.example/story", OPTIONS)
    assert {"authors", "published_at", "language", "canonical_url"} <= set(result.missing)
    assert "title" not in result.missing


def test_canonical_pointing_at_home_page_is_ignored():
    html = page("article_en.html").replace(
        'href="/news/2024/03/14/port-ellery-ferry-pier-rebuild"', 'href="https://ledger.example/"'
    )
    result = extract_article(html, EN_URL, OPTIONS)
    assert result.canonical_url is None
    assert "canonical_url" in result.missing


# --- encodings ----------------------------------------------------------------------

RU_TITLE = "В Приморске открыли новый мост через реку"  # noqa: RUF001
RU_FRAGMENT = "В четверг утром в Приморске открыли движение по новому мосту"  # noqa: RUF001


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        # UTF-8 bytes whose meta tag says windows-1251
        ((PAGES / "article_ru.html").read_bytes(), None),
        # ... and whose HTTP header says so too
        ((PAGES / "article_ru.html").read_bytes(), "windows-1251"),
        # cp1251 bytes whose meta tag says utf-8
        ((PAGES / "article_ru_cp1251.html").read_bytes(), None),
        # ... and whose header wrongly says latin-1
        ((PAGES / "article_ru_cp1251.html").read_bytes(), "iso-8859-1"),
        # cp1251 bytes, correctly declared
        ((PAGES / "article_ru_cp1251.html").read_bytes(), "windows-1251"),
    ],
)
def test_russian_page_decodes_whatever_is_declared(body, declared):
    html = decode_html(body, declared)
    assert RU_FRAGMENT in html
    result = extract_article(html, RU_URL, OPTIONS)
    assert RU_FRAGMENT in result.text
    assert result.title == RU_TITLE
    assert result.language == "ru"


WESTERN = "<html><head><meta charset='{cs}'></head><body><p>{text}</p></body></html>"
WESTERN_TEXT = "Café “Le Phare” reopens — the naïve façade, déjà vu for £5. " * 20


@pytest.mark.parametrize(
    ("encoding", "meta", "declared"),
    [
        ("utf-8", "windows-1252", None),  # UTF-8 declaring cp1252
        ("utf-8", "iso-8859-1", "iso-8859-1"),
        ("cp1252", "utf-8", None),  # cp1252 declaring UTF-8
        ("cp1252", "windows-1252", "windows-1252"),
        ("cp1252", "iso-8859-1", None),  # latin-1 label means cp1252 on the web
    ],
)
def test_western_page_decodes_whatever_is_declared(encoding, meta, declared):
    body = WESTERN.format(cs=meta, text=WESTERN_TEXT).encode(encoding)
    assert WESTERN_TEXT in decode_html(body, declared)


def test_decode_normalises_to_nfc_and_strips_bom():
    body = b"\xef\xbb\xbf<p>Cafe\xcc\x81</p>"  # BOM, then "e" + combining acute
    assert decode_html(body, None) == "<p>Café</p>"


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"GIF89a\x01\x00\x01\x00",
        b"PK\x03\x04\x14\x00\x06\x00",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
        b"<html><body>" + b"\x00" * 10 + b"</body></html>",
        bytes(range(1, 32)) * 40,
    ],
)
def test_binary_content_is_refused(body):
    with pytest.raises(PermanentError) as err:
        decode_html(body, "utf-8")
    assert err.value.reason is Reason.BINARY_CONTENT


def test_text_with_tabs_and_newlines_is_not_binary():
    body = b"<html>\n\t<body>\r\n\t\t<p>Hello</p>\f</body></html>"
    assert "Hello" in decode_html(body, None)


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("", Reason.NO_TEXT),
        ("   \n\t ", Reason.NO_TEXT),
        ("<html><body></body></html>", Reason.NO_TEXT),
        ("<html><body><p>Too short to be an article.</p></body></html>", Reason.NO_TEXT),
        ("<<<>>> </div></p><p<p<p", Reason.NO_TEXT),
        ("\x00\x01 not really html", Reason.NO_TEXT),
        (page("front_page.html"), Reason.NOT_ARTICLE),
        (page("front_page.html").replace('content="website"', 'content="article"'),
         Reason.NOT_ARTICLE),
        (page("login_wall.html"), Reason.NOT_ARTICLE),
    ],
    ids=["empty", "blank", "empty-body", "short", "garbage", "control-chars", "front-page",
         "front-page-claiming-article", "login-wall"],
)  # fmt: skip
def test_refusals(html, reason):
    with pytest.raises(PermanentError) as err:
        extract_article(html, "https://ledger.example/news", OPTIONS)
    assert err.value.reason is reason


def test_oversized_html_is_refused_before_parsing():
    html = "<html><body>" + "<p>word</p>" * 1000 + "</body></html>"
    with pytest.raises(PermanentError) as err:
        extract_article(html, EN_URL, ExtractOptions(max_html_chars=5_000))
    assert err.value.reason is Reason.OVERSIZED


@pytest.mark.parametrize(
    "html",
    [
        "<div>" * 100_000 + "<p>" + "deep text " * 100 + "</p>" + "</div>" * 100_000,
        "<html><body>" + "<table><tr><td>" * 20_000 + "cell " * 200,
        "<html><body>" + "<div><span>x</span></div>" * 150_000 + "</body></html>",
        "<html><body>" + "<p><b>word</b> and <i>more</i></p>" * 12_000 + "</body></html>",
    ],
    ids=["deeply-nested", "unclosed-nested-tables", "very-wide", "wide-under-limit"],
)
def test_huge_or_deep_dom_completes(html):
    start = time.monotonic()
    try:
        extract_article(html, EN_URL, OPTIONS)
    except PermanentError as err:
        assert err.reason in (Reason.NO_TEXT, Reason.NOT_ARTICLE, Reason.OVERSIZED)
    assert time.monotonic() - start < 20


def test_too_many_elements_is_refused_quickly():
    html = "<html><body>" + "<div><span>x</span></div>" * 30_000 + "</body></html>"
    start = time.monotonic()
    with pytest.raises(PermanentError) as err:
        extract_article(html, EN_URL, OPTIONS)
    assert err.value.reason is Reason.OVERSIZED
    assert time.monotonic() - start < 5


def test_unclosed_title_is_repaired():
    body = "".join(f"<p>Paragraph {i} of a page whose head was cut short in transit.</p>" for i in range(8))
    html = f"<html><head><title>Cut short<script>x()</script></head><body>{body}</body></html>"
    assert "</title>" in repair_html(html)
    result = extract_article(html, EN_URL, OPTIONS)
    assert "Paragraph 7 of a page" in result.text


def test_repair_leaves_sound_html_alone():
    html = page("article_en.html")
    assert repair_html(html) == html


# --- not-article heuristics must spare real articles ----------------------------------


def test_hard_wrapped_wire_story_beside_a_long_link_list_is_an_article():
    # 32 headline links outweigh the text, and every line is short, but the lines
    # are a hard-wrapped <pre> story, not teasers.
    result = extract_article(
        page("article_pre_wire.html"), "https://ledger.example/sport/2024/03/02/rowing", OPTIONS
    )
    assert "photograph to settle" in result.text
    assert "Rowing club wins the spring regatta" not in result.text


def test_short_article_with_sidebar_login_box_is_an_article():
    paragraphs = "".join(
        f"<p>Paragraph {i}: the lifeboat crew was called out twice overnight to help a yacht.</p>"
        for i in range(4)
    )
    html = (
        "<html><body><div class='login'><form><input type='text' name='u'>"
        "<input type='password' name='p'><button>Go</button></form></div>"
        f"<article><h1>Lifeboat busy night</h1>{paragraphs}</article></body></html>"
    )
    result = extract_article(html, EN_URL, OPTIONS)
    assert "called out twice overnight" in result.text


# --- text cleaning ------------------------------------------------------------------------

ANCHORS = {"email this story", "ferry timetable cut again as repairs stall"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the headline repeated as the first line goes
        ("Pier to be rebuilt\nBody line one.\nBody line two.", "Body line one.\nBody line two."),
        # ... but only as the first line, and only if it is the headline
        ("Body line one.\nPier to be rebuilt", "Body line one.\nPier to be rebuilt"),
        # short lines that are the whole text of a link on the page go
        ("Body one.\nFerry timetable cut again as repairs stall\nBody two.",
         "Body one.\nBody two."),
        ("Body one.\nEmail this story", "Body one."),
        # a line that merely contains link text stays
        ("Body one said ferry timetable cut again as repairs stall, quoting staff.",
         "Body one said ferry timetable cut again as repairs stall, quoting staff."),
        # edge boilerplate goes, the same words inside the body stay
        ("Advertisement\nBody one.\nCopyright 2024 The Ledger. All rights reserved.", "Body one."),
        ("Body one.\nRelated stories\nBody two.", "Body one.\nRelated stories\nBody two."),
        ("Body one.\nCopyright law was the subject of a long debate in parliament on Tuesday "
         "night, and members spoke for hours.",
         "Body one.\nCopyright law was the subject of a long debate in parliament on Tuesday "
         "night, and members spoke for hours."),
    ],
)  # fmt: skip
def test_clean_lines(text, expected):
    assert clean_lines(text, "Pier to be rebuilt", ANCHORS, OPTIONS) == expected


def test_clean_lines_can_be_switched_off():
    options = ExtractOptions(
        strip_title_line=False, drop_link_lines=False, trim_edge_boilerplate=False
    )
    text = "Pier to be rebuilt\nEmail this story\nAdvertisement"
    assert clean_lines(text, "Pier to be rebuilt", ANCHORS, options) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("  a   b \n\n\t c\u00a0 d  \r\n", "a b\nc d"),
    ("", ""),
    (None, ""),
])  # fmt: skip
def test_normalise_text(text, expected):
    assert normalise_text(text) == expected


BODY = "\n".join(
    f"Body paragraph {i} tells the story in a dozen words or a few more." for i in range(6)
)


@pytest.mark.parametrize(
    "marker",
    ["Reader comments (3)", "Comments", "Have your say", "12 comments", "Reader views (5)",
     "Comments are now closed for this story", "Posted by: tidewatcher | 14 March 2024 18:24"],
)  # fmt: skip
def test_text_is_cut_at_a_comment_section(marker):
    text = f"{BODY}\n{marker}\nFirst reader comment here.\nSecond reader comment."
    assert clean_lines(text, None, set(), OPTIONS) == BODY


def test_comment_marker_near_the_top_does_not_cut_the_body():
    text = f"Intro line.\nComments\n{BODY}"
    assert clean_lines(text, None, set(), OPTIONS) == text


def test_comment_words_inside_a_sentence_do_not_cut():
    text = f"{BODY}\nComments made by the minister were criticised by the opposition.\nMore body."
    assert clean_lines(text, None, set(), OPTIONS) == text
