"""The generated site's model and markup: articles under five outlets' templates, the home
page, paginated section pages, an RSS feed, a sitemap index with Google News sitemaps, and
robots.txt. Pure functions of a seed; the base URL is filled in at render time."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from itertools import pairwise

from services.worker.similarity import simhash64
from tests.sitegen import chrome
from tests.sitegen.prose import TOPICS, Story, comment, person, story

TEMPLATES = ("herald", "gazette", "wire", "magazine", "tabloid")
OUTLET = {
    "herald": "Northern Herald",
    "gazette": "Daily Gazette",
    "wire": "Continental Wire",
    "magazine": "The Long Read",
    "tabloid": "City Buzz",
}
SECTION_PAGE_SIZE = 20
SITEMAP_CHUNK = 100
FEED_ITEMS = 100
HOME_ITEMS = 30
# Newest article's publication time; older ones go back an hour or so each.
ANCHOR = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
_SLUG = re.compile(r"[^a-z0-9]+")
# A drawn article whose body lands this close (in SimHash bits) to an earlier one is drawn
# again: the worker flags copies within 10 bits, and two independent texts fall that close
# by pure chance about once per million pairs (2,000 articles make two million pairs).
MIN_SIMHASH_DISTANCE = 13


@dataclass(frozen=True)
class GenArticle:
    index: int
    path: str
    template: str
    section: str
    published_at: datetime
    story: Story

    @property
    def title(self) -> str:
        return self.story.title

    @property
    def summary(self) -> str:
        return self.story.teaser


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:80].strip("-")


# Quantiles of article length in words (cumulative share, words), from the annotated texts
# of the 621 real pages of the extraction-dev research set (p10 133, p25 217, p50 343,
# p75 559, p90 768, p97 1,193 words), a little lower here because a story overshoots its
# target by part of a paragraph and the extracted text also carries subheads. Below 160
# words a story would be a stub (``prose.story``).
_LENGTH_QUANTILES = ((0.0, 160), (0.25, 180), (0.5, 280), (0.75, 470), (0.9, 660), (0.97, 1080), (1.0, 2200))


def _length(rng: random.Random) -> int:
    """Briefs, standard stories and long features, as long as real news pages' articles."""
    roll = rng.random()
    for (p0, w0), (p1, w1) in pairwise(_LENGTH_QUANTILES):
        if roll <= p1:
            return round(w0 + (w1 - w0) * (roll - p0) / (p1 - p0))
    return _LENGTH_QUANTILES[-1][1]


def _path(template: str, section: str, lang: str, slug: str, ident: int, when: datetime) -> str:
    d = when
    prefix = "" if lang == "en" else f"/{lang}"
    if template == "herald":
        return f"{prefix}/{section}/{d:%Y/%m/%d}/{slug}.html"
    if template == "gazette":
        return f"/{lang}/news/{slug}-{ident}"
    if template == "wire":
        return f"{prefix}/wire/{d:%Y-%m-%d}/{slug}"
    if template == "magazine":
        return f"{prefix}/features/{d:%Y/%m}/{slug}/"
    return f"{prefix}/story/{ident}/{slug}.html"


def generate(n: int, seed: int = 1) -> list[GenArticle]:
    """``n`` distinct articles, newest first."""
    rng = random.Random(seed)
    articles: list[GenArticle] = []
    titles: set[str] = set()
    fingerprints: list[int] = []
    when = ANCHOR
    while len(articles) < n:
        i = len(articles)
        topic = rng.choice(TOPICS)
        roll = rng.random()
        lang = "en" if roll < 0.76 else ("de" if roll < 0.84 else ("fr" if roll < 0.92 else "es"))
        s = story(rng, topic, lang, _length(rng))
        if s.title in titles:
            continue
        fingerprint = simhash64("\n".join((s.teaser, *s.paragraphs)))
        if any((fingerprint ^ other).bit_count() < MIN_SIMHASH_DISTANCE for other in fingerprints):
            continue
        titles.add(s.title)
        fingerprints.append(fingerprint)
        template = TEMPLATES[rng.randrange(len(TEMPLATES))]
        ident = 10_000 + i * 7 + rng.randrange(7)
        path = _path(template, topic, lang, _slug(s.title), ident, when)
        articles.append(GenArticle(i, path, template, topic, when, s))
        when -= timedelta(minutes=rng.randint(5, 90))
    return articles


# --- article markup ------------------------------------------------------------------------


def _head(a: GenArticle, base: str, *, og: bool, canonical: bool, jsonld: bool, extra: str = "") -> str:
    s = a.story
    url = base + a.path
    parts = [
        '<meta charset="utf-8">',
        f"<title>{escape(s.title)}{'' if a.template == 'wire' else ' | ' + OUTLET[a.template]}</title>",
        f'<meta name="description" content="{escape(s.teaser)}">',
        f'<meta name="author" content="{escape(s.author)}">',
    ]
    if canonical:
        parts.append(f'<link rel="canonical" href="{url}">')
    if og:
        parts += [
            '<meta property="og:type" content="article">',
            f'<meta property="og:title" content="{escape(s.title)}">',
            f'<meta property="og:url" content="{url}">',
            f'<meta property="article:published_time" content="{a.published_at.isoformat()}">',
            f'<meta property="article:section" content="{a.section}">',
        ]
    if jsonld:
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": s.title,
            "datePublished": a.published_at.isoformat(),
            "dateModified": (a.published_at + timedelta(minutes=17)).isoformat(),
            "author": [{"@type": "Person", "name": s.author}],
            "publisher": {"@type": "Organization", "name": OUTLET[a.template]},
            "mainEntityOfPage": url,
            "inLanguage": s.language,
        }
        parts.append(f'<script type="application/ld+json">{json.dumps(data)}</script>')
    parts.append('<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">')
    parts.append("<style>body{font-family:serif}.cookie{position:fixed}</style>")
    return "<head>" + "".join(parts) + extra + "</head>"


def _nav() -> str:
    links = "".join(f'<li><a href="/{t}/">{t.title()}</a></li>' for t in TOPICS)
    return f'<nav class="main-nav"><ul><li><a href="/">Home</a></li>{links}</ul></nav>'


def _cookie_banner() -> str:
    return (
        '<div class="cookie" id="consent">We use cookies to improve your experience. '
        '<button>Accept all cookies</button> <a href="/privacy/">Privacy policy</a></div>'
    )


def _share_bar() -> str:
    return (
        '<div class="share"><a href="https://x.example/share">Share</a> '
        '<a href="https://fb.example/share">Post</a> <a href="mailto:?">Email</a></div>'
    )


def _related(related: list[GenArticle]) -> str:
    items = "".join(f'<li><a href="{r.path}">{escape(r.title)}</a></li>' for r in related)
    return f'<aside class="related"><h3>Related</h3><ul>{items}</ul></aside>'


def _comments(a: GenArticle, rng: random.Random) -> str:
    # Most stories draw a few comments, a popular one a long thread. The gazette's story body
    # is <div>s and <br>s, which text in <p>s (a thread, a rail of summaries) would outweigh
    # for trafilatura: it keeps a few one-line comments and no summaries.
    if a.template == "gazette":
        items = "".join(
            f'<li class="comment"><b>{escape(person(rng))}</b>: {escape(comment(rng, a.section))}</li>'
            for _ in range(rng.randint(2, 5))
        )
        return f'<section id="comments" class="comments"><h3>Comments</h3><ol>{items}</ol></section>'
    count = rng.randint(20, 60) if rng.random() < 0.2 else rng.randint(2, 12)
    items = "".join(
        f'<li class="comment"><div class="comment__head"><b>{escape(person(rng))}</b> '
        f'<time>{rng.randint(1, 59)} min ago</time></div><div class="comment__body"><p>'
        f"{escape(comment(rng, a.section))}</p></div>"
        f'<div class="comment__actions"><button>Reply</button><button>Like</button></div></li>'
        for _ in range(count)
    )
    return f'<section id="comments" class="comments"><h3>Comments</h3><ol>{items}</ol></section>'


def _footer(outlet: str) -> str:
    return (
        f'<footer><p>&copy; 2026 {outlet}. <a href="/about/">About us</a> '
        '<a href="/contacts/">Contacts</a> <a href="/privacy/">Privacy</a></p></footer>'
    )


def _paras(s: Story, *, subheads: bool = False) -> str:
    out = []
    heads = list(s.subheads)
    for i, p in enumerate(s.paragraphs):
        if subheads and i and i % 5 == 0 and heads:
            out.append(f"<h2>{escape(heads.pop())}</h2>")
        out.append(f"<p>{escape(p)}</p>")
    return "".join(out)


def render_article(a: GenArticle, base: str, related: list[GenArticle]) -> str:
    """An article under its outlet's template, in the furniture of a real news page
    (``tests.sitegen.chrome``): ``related[:3]`` are its related stories, the rest fill the
    outlet's rails."""
    s = a.story
    rng = random.Random(a.index * 7919 + 3)
    time_tag = f'<time datetime="{a.published_at.isoformat()}">{a.published_at:%d %B %Y, %H:%M}</time>'
    outlet = OUTLET[a.template]
    lang = f'<html lang="{s.language}">'
    close, others = related[:3], related[3:]
    most_read = chrome.rail("Most read", others[: rng.randint(5, 10)], rng, pictures=False)
    more = chrome.rail(f"More {a.section}", others[::-1][: rng.randint(3, 8)], rng, pictures=True)
    scripts = chrome.scripts(outlet, a.section, s.paragraphs, rng)
    menu = chrome.mega_menu(outlet, rng)
    footer = chrome.footer(outlet)
    if a.template == "herald":
        head = _head(a, base, og=True, canonical=True, jsonld=True, extra=scripts)
        body = (
            f"<body>{_cookie_banner()}<header>{menu}</header>{chrome.ad_slot('leaderboard')}<main id='main'>"
            f"{chrome.breadcrumbs(a.section)}"
            f"<article class='story'><h1>{escape(s.title)}</h1>"
            f"<p class='byline'>By <a href='/author/{_slug(s.author)}/'>{escape(s.author)}</a> &middot; {time_tag}</p>"
            f"<p class='lead'><strong>{escape(s.teaser)}</strong></p>{_paras(s)}</article>"
            f"{chrome.tags(a.section, rng)}{chrome.author_box(s.author, outlet)}"
            f"{_share_bar()}{_related(close)}{_comments(a, rng)}</main><aside class='sidebar'>{chrome.ad_slot('mpu')}{most_read}"
            f"{chrome.newsletter(outlet)}</aside>{more}{footer}{chrome.consent_dialog()}</body>"
        )
    elif a.template == "gazette":
        head = _head(a, base, og=True, canonical=True, jsonld=False, extra=scripts)
        body = (
            f"<body><div id='top'><div class='logo'>{outlet}</div>{menu}</div>"
            f"<div class='container'><div class='col-main'>{chrome.breadcrumbs(a.section)}"
            f"<div class='headline'><h1 class='title'>{escape(s.title)}</h1></div>"
            f"<div class='meta'><span class='author'>{escape(s.author)}</span> <span class='date'>{a.published_at:%Y-%m-%d %H:%M}</span></div>"
            f"<div class='story-body'>{''.join(f'<div class=para>{escape(p)}</div><br>' for p in s.paragraphs)}</div>"
            f"{chrome.tags(a.section, rng)}{_share_bar()}{_comments(a, rng)}</div><div class='col-side'>{_related(close)}"
            f"<div class='ad'>Advertisement</div>{most_read}{chrome.ad_slot('halfpage')}</div></div>"
            f"{footer}{_cookie_banner()}</body>"
        )
    elif a.template == "wire":
        head = _head(
            a,
            base,
            og=False,
            canonical=False,
            jsonld=False,
            extra=f'<meta name="date" content="{a.published_at.isoformat()}">{scripts}',
        )
        first, *rest = s.paragraphs
        body = (
            f"<body><header>{outlet}{menu}</header><main><section class='content'>"
            f"<h1>{escape(s.title)}</h1><div class='dateline'>{time_tag}</div>"
            f"<p>{escape(s.city.upper())} ({outlet}) &mdash; {escape(first)}</p>"
            f"{''.join(f'<p>{escape(p)}</p>' for p in rest)}"
            f"<p class='credit'>Reporting by {escape(s.author)}; editing by {escape(person(rng))}</p>"
            f"</section><aside>{most_read}</aside></main>{footer}</body>"
        )
    elif a.template == "magazine":
        head = _head(a, base, og=True, canonical=True, jsonld=True, extra=scripts)
        quote = s.paragraphs[len(s.paragraphs) // 2].split(". ")[0]
        body = (
            f"<body>{_cookie_banner()}<header class='masthead'><a href='/'>{outlet}</a>{menu}</header>"
            f"<article><header><p class='kicker'>{a.section.title()}</p><h1>{escape(s.title)}</h1>"
            f"<p class='standfirst'>{escape(s.teaser)}</p>"
            f"<p class='byline'>Words by {escape(s.author)}, {time_tag}</p></header>"
            f"<figure><img src='/img/{a.index}.jpg' alt=''><figcaption>{escape(s.city)}, photographed for {outlet}</figcaption></figure>"
            f"<div class='body'>{_paras(s, subheads=True)}<blockquote>{escape(quote)}</blockquote></div>"
            f"<footer class='article-foot'>{_share_bar()}{chrome.author_box(s.author, outlet)}</footer></article>"
            f"{_related(close)}{more}{_comments(a, rng)}{chrome.newsletter(outlet)}{footer}"
            f"{chrome.consent_dialog()}</body>"
        )
    else:  # tabloid
        head = _head(a, base, og=True, canonical=True, jsonld=False, extra=scripts)
        half = len(s.paragraphs) // 2 or 1
        body = (
            f"<body><div class='wrap'><div class='topbar'>{outlet} {menu}</div>"
            "<div class='breaking'>BREAKING: stay with us for live updates</div>"
            f"{chrome.ad_slot('billboard')}"
            f"<div class='post'><h1>{escape(s.title)}</h1><div class='by'>{escape(s.author)} | {time_tag}</div>"
            f"{''.join(f'<p>{escape(p)}</p>' for p in s.paragraphs[:half])}"
            f"<div class='read-more'><b>READ MORE:</b> <a href='{close[0].path if close else '/'}'>"
            f"{escape(close[0].title) if close else 'Home'}</a></div>"
            f"{''.join(f'<p>{escape(p)}</p>' for p in s.paragraphs[half:])}"
            "<div class='newsletter'><form><input type='email' placeholder='Your email'>"
            "<button>Sign up to our newsletter</button></form></div>"
            f"</div>{_share_bar()}{_comments(a, rng)}<div class='ad'>Sponsored</div>{most_read}{more}{chrome.ad_slot('footer')}</div>"
            f"{footer}{_cookie_banner()}{chrome.consent_dialog()}</body>"
        )
    body = "<body>" + chrome.nest(body.removeprefix("<body>").removesuffix("</body>"), rng) + "</body>"
    return f"<!DOCTYPE html>{lang}{head}{body}</html>"


# --- listings ------------------------------------------------------------------------------


def _teaser_list(items: list[GenArticle]) -> str:
    return "".join(
        f"<li class='teaser'><a href='{a.path}'>{escape(a.title)}</a>"
        f"<p>{escape(a.story.teaser[:140])}</p><time datetime='{a.published_at.isoformat()}'></time></li>"
        for a in items
    )


def render_home(articles: list[GenArticle]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Newsflow Generated Times</title>"
        "<link rel='alternate' type='application/rss+xml' title='Latest' href='/rss.xml'>"
        "<meta property='og:type' content='website'></head>"
        f"<body>{_cookie_banner()}<header>{_nav()}</header><main><h1>Latest news</h1>"
        f"<ul class='latest'>{_teaser_list(articles[:HOME_ITEMS])}</ul></main>{_footer('Newsflow Generated Times')}</body></html>"
    )


def section_pages(articles: list[GenArticle], section: str) -> int:
    count = sum(1 for a in articles if a.section == section)
    return max(1, -(-count // SECTION_PAGE_SIZE))


def render_section(articles: list[GenArticle], section: str, page: int) -> str | None:
    items = [a for a in articles if a.section == section]
    pages = max(1, -(-len(items) // SECTION_PAGE_SIZE))
    if not 1 <= page <= pages:
        return None
    chunk = items[(page - 1) * SECTION_PAGE_SIZE : page * SECTION_PAGE_SIZE]
    nav = []
    if page > 1:
        nav.append(
            f"<a rel='prev' href='/{section}/" + (f"page/{page - 1}/" if page > 2 else "") + "'>Newer</a>"
        )
    if page < pages:
        nav.append(f"<a rel='next' href='/{section}/page/{page + 1}/'>Older</a>")
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{section.title()} - page {page}</title>"
        "<meta property='og:type' content='website'></head>"
        f"<body><header>{_nav()}</header><main><h1>{section.title()}</h1><ul>{_teaser_list(chunk)}</ul>"
        f"<div class='pagination'>{' '.join(nav)}</div></main></body></html>"
    )


def render_rss(articles: list[GenArticle], base: str) -> str:
    items = "".join(
        "<item>"
        f"<title>{escape(a.title)}</title>"
        f"<link>{base}{a.path}?utm_source=rss&amp;utm_medium=feed</link>"
        f"<guid isPermaLink='false'>gen-{a.index}</guid>"
        f"<pubDate>{format_datetime(a.published_at)}</pubDate>"
        f"<category>{a.section.title()}</category>"
        f"<description>{escape(a.story.teaser)}</description>"
        "</item>"
        for a in articles[:FEED_ITEMS]
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Newsflow Generated Times</title><link>{base}/</link>"
        f"<description>Generated news</description><language>en</language>{items}</channel></rss>"
    )


def sitemap_chunks(articles: list[GenArticle]) -> int:
    return max(1, -(-len(articles) // SITEMAP_CHUNK))


def render_sitemap_index(articles: list[GenArticle], base: str) -> str:
    entries = "".join(
        f"<sitemap><loc>{base}/sitemaps/news-{k}.xml</loc></sitemap>"
        for k in range(1, sitemap_chunks(articles) + 1)
    )
    entries += f"<sitemap><loc>{base}/sitemaps/sections.xml</loc></sitemap>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    )


def render_news_sitemap(articles: list[GenArticle], base: str, k: int) -> str | None:
    if not 1 <= k <= sitemap_chunks(articles):
        return None
    chunk = articles[(k - 1) * SITEMAP_CHUNK : k * SITEMAP_CHUNK]
    urls = "".join(
        f"<url><loc>{base}{a.path}</loc><news:news><news:publication><news:name>{OUTLET[a.template]}</news:name>"
        f"<news:language>{a.story.language}</news:language></news:publication>"
        f"<news:publication_date>{a.published_at.isoformat()}</news:publication_date>"
        f"<news:title>{escape(a.title)}</news:title></news:news></url>"
        for a in chunk
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    )


def render_sections_sitemap(base: str) -> str:
    urls = "".join(f"<url><loc>{base}/{t}/</loc></url>" for t in TOPICS)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/</loc></url>{urls}</urlset>'
    )


def render_robots(base: str) -> str:
    return (
        "# generated test site\nUser-agent: *\nDisallow: /search/\nDisallow: /comments/\nAllow: /\n\n"
        f"Sitemap: {base}/sitemap.xml\n"
    )
