"""The furniture real outlets wrap an article in: a mega menu, rails of other stories,
breadcrumbs, tag lists, author boxes, ad slots, icon sprites, inline scripts and state, a
link-farm footer. It is what makes a news page weigh what a real one does: on the 621 real
news pages of the extraction-dev research set, the median page is ~37 KB of HTML with ~500
elements and ~100 links (p90: ~72 KB, ~1,000 elements); an article's own text is a small part
of that. Extraction time grows with that weight, so a site of bare articles (~6 KB, 75
elements) measures a pipeline's fixed costs against an extraction far cheaper than real
pages need. ``docs/throughput.md`` gives the calibration figures.

Pure functions of an outlet name, a section and a seeded ``random.Random``; nothing here is
read as article text by a correct extractor (menus, rails, footers, scripts).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from html import escape
from typing import Protocol

from tests.sitegen.prose import TOPICS

# Each section's desks, for the mega menu (links to section paths the site serves or 404s).
_DESKS = (
    "latest", "analysis", "opinion", "explainers", "video", "photos", "live", "local", "world",
    "interviews", "data", "podcasts",
)  # fmt: skip
_FOOTER_COLUMNS = {
    "News": ("World", "Region", "Business", "Markets", "Science", "Health", "Education", "Weather"),
    "Opinion": ("Editorials", "Columnists", "Letters", "Cartoons", "Guest essays"),
    "Culture": ("Books", "Film", "Music", "Theatre", "Art", "Food", "Travel", "Style"),
    "Services": ("Subscribe", "Newsletters", "Apps", "E-paper", "Archive", "Crosswords", "Events"),
    "Company": ("About us", "Careers", "Advertise", "Contact", "Corrections", "Ethics", "Terms", "Privacy"),
}
_SOCIAL = ("x", "facebook", "instagram", "youtube", "telegram", "whatsapp", "linkedin")


class Teaser(Protocol):
    """What a rail shows of another article."""

    @property
    def path(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def summary(self) -> str: ...


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


def mega_menu(outlet: str, rng: random.Random) -> str:
    """Every section with a fly-out of its desks, as most outlets' headers carry."""
    groups = []
    for topic in TOPICS:
        desks = _DESKS[: rng.randint(4, len(_DESKS))]
        items = "".join(
            f'<li class="menu__item"><a class="menu__link" href="/{topic}/{d}/">{d.title()}</a></li>'
            for d in desks
        )
        groups.append(
            f'<li class="nav__group"><a class="nav__top" href="/{topic}/">{topic.title()}</a>'
            f'<div class="nav__flyout" hidden><ul class="menu">{items}</ul></div></li>'
        )
    return (
        f'<div class="masthead-bar"><a class="skip" href="#main">Skip to content</a>'
        f'<a class="brand" href="/" aria-label="{escape(outlet)}">{icon("logo")}</a>'
        f'<button class="nav-toggle" aria-expanded="false">{icon("menu")}Menu</button>'
        f'<form class="search" action="/search/"><input name="q" type="search" placeholder="Search">'
        f"<button>{icon('search')}</button></form>"
        f'<a class="account" href="/account/">Sign in</a><a class="cta" href="/subscribe/">Subscribe</a></div>'
        f'<nav class="nav" aria-label="Sections"><ul class="nav__list">{"".join(groups)}</ul></nav>'
    )


def icon(name: str) -> str:
    """An inline SVG icon, as sites inline their sprites."""
    return (
        f'<svg class="icon icon--{name}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">'
        f'<path d="M4 6h16M4 12h16M4 18h{len(name) + 8}" stroke="currentColor"/>'
        f'<circle cx="12" cy="12" r="{len(name) % 9 + 1}"/></svg>'
    )


def breadcrumbs(section: str) -> str:
    return (
        '<ol class="breadcrumbs" itemscope itemtype="https://schema.org/BreadcrumbList">'
        '<li><a href="/">Home</a></li>'
        f'<li><a href="/{section}/">{section.title()}</a></li>'
        f'<li><a href="/{section}/latest/">Latest</a></li></ol>'
    )


def rail(title: str, items: Sequence[Teaser], rng: random.Random, *, pictures: bool) -> str:
    """A rail of other stories ("Most read", "More from the section"), with pictures or ranks."""
    rows = []
    for rank, item in enumerate(items, 1):
        if pictures:
            media = (
                f'<picture><source type="image/webp" srcset="/img/{rank}-320.webp 320w, /img/{rank}-640.webp 640w">'
                f'<img src="/img/{rank}-320.jpg" alt="" loading="lazy" width="320" height="180"></picture>'
            )
        else:
            media = f'<span class="rank">{rank}</span>'
        minutes = rng.randint(3, 600)
        summary = f'<p class="rail__summary">{escape(item.summary)}</p>' if pictures else ""
        rows.append(
            f'<li class="rail__item"><div class="card"><div class="card__media">'
            f'<a class="rail__link" href="{item.path}">{media}</a></div><div class="card__body">'
            f'<h4 class="rail__title"><a href="{item.path}">{escape(item.title)}</a></h4>{summary}'
            f'<span class="rail__meta"><time>{minutes} min ago</time></span></div></div></li>'
        )
    return f'<section class="rail"><h3 class="rail__head">{title}</h3><ol class="rail__list">{"".join(rows)}</ol></section>'


def tags(section: str, rng: random.Random) -> str:
    words = rng.sample(("region", "government", "markets", "city", "courts", "energy", "schools",
                        "transport", "weather", "elections", "health", "climate"), rng.randint(3, 7))  # fmt: skip
    links = "".join(f'<li><a rel="tag" href="/tag/{w}/">{w.title()}</a></li>' for w in (section, *words))
    return f'<ul class="tags">{links}</ul>'


def author_box(author: str, outlet: str) -> str:
    return (
        f'<aside class="author-box"><img src="/img/authors/{_slug(author)}.jpg" alt="" width="64" height="64">'
        f'<div><a class="author-box__name" href="/author/{_slug(author)}/">{escape(author)}</a>'
        f'<p class="author-box__bio">Staff reporter at {escape(outlet)}.</p>'
        f'<a class="follow" href="/author/{_slug(author)}/rss/">{icon("rss")}Follow</a></div></aside>'
    )


def ad_slot(name: str) -> str:
    return (
        f'<div class="ad ad--{name}" data-slot="{name}" aria-hidden="true"><div class="ad__label">Advertisement</div>'
        f'<div class="ad__frame"><div id="gpt-{name}"></div></div></div>'
    )


def newsletter(outlet: str) -> str:
    return (
        '<section class="newsletter-signup"><h3>Morning briefing</h3>'
        f"<p>The day's essential stories from {escape(outlet)}, in your inbox.</p>"
        '<form action="/newsletters/subscribe/" method="post"><label for="nl-email">Email</label>'
        '<input id="nl-email" type="email" name="email" required>'
        '<input type="hidden" name="list" value="morning"><button type="submit">Sign up</button></form></section>'
    )


def consent_dialog() -> str:
    options = "".join(
        f'<li><label><input type="checkbox" name="{p}" checked>{p.title()}</label></li>'
        for p in ("necessary", "preferences", "statistics", "marketing", "personalised ads")
    )
    return (
        '<div class="cmp" role="dialog" aria-modal="true" hidden><h2>Your privacy</h2>'
        "<p>We and our partners store and access information on your device.</p>"
        f'<ul class="cmp__purposes">{options}</ul>'
        '<button class="cmp__accept">Accept all</button><button class="cmp__reject">Reject all</button>'
        '<a href="/privacy/">Manage settings</a></div>'
    )


def footer(outlet: str) -> str:
    columns = "".join(
        f'<div class="footer__col"><h4>{head}</h4><ul>'
        + "".join(f'<li><a href="/{_slug(name)}/">{name}</a></li>' for name in names)
        + "</ul></div>"
        for head, names in _FOOTER_COLUMNS.items()
    )
    social = "".join(f'<a class="social" href="/follow/{s}/" aria-label="{s}">{icon(s)}</a>' for s in _SOCIAL)
    return (
        f'<footer class="site-footer"><div class="footer__cols">{columns}</div>'
        f'<div class="footer__social">{social}</div>'
        f"<p class='footer__legal'>&copy; 2026 {escape(outlet)}. All rights reserved. "
        '<a href="/terms/">Terms of use</a> <a href="/privacy/">Privacy policy</a> '
        '<a href="/cookies/">Cookie settings</a></p></footer>'
    )


def scripts(outlet: str, section: str, paragraphs: tuple[str, ...], rng: random.Random) -> str:
    """Analytics and ad configuration, and (on app-rendered outlets) the page's state as JSON,
    which repeats the article's text: script bodies are most of many real pages' bytes."""
    config = {
        "site": outlet,
        "section": section,
        "ads": {
            f"slot{i}": {"sizes": [[300, 250], [728, 90]], "refresh": 30} for i in range(rng.randint(3, 8))
        },
        "analytics": {
            "account": f"UA-{rng.randint(10**6, 10**7)}",
            "dimensions": list(range(rng.randint(5, 20))),
        },
    }
    metas = [
        ("twitter:card", "summary_large_image"), ("twitter:site", "@" + _slug(outlet)),
        ("og:site_name", outlet), ("og:image", "/img/share.jpg"), ("og:image:width", "1200"),
        ("og:image:height", "630"), ("robots", "max-image-preview:large"), ("theme-color", "#101820"),
        ("parsely-section", section), ("sailthru.tags", section), ("viewport", "width=device-width"),
        ("apple-itunes-app", "app-id=1"), ("referrer", "strict-origin-when-cross-origin"),
    ]  # fmt: skip
    metas += [("article:tag", w) for w in rng.sample(_DESKS, rng.randint(2, 8))]
    metas += [(f"ad:kv{i}", str(rng.randint(0, 99))) for i in range(rng.randint(4, 24))]
    parts = [f'<meta name="{escape(k)}" content="{escape(v)}">' for k, v in metas]
    parts += [
        '<link rel="preconnect" href="/cdn/"><link rel="icon" href="/favicon.ico">',
        '<link rel="stylesheet" href="/static/css/app.css"><link rel="manifest" href="/manifest.json">',
    ]
    parts += [
        f"<script>window.dataLayer=window.dataLayer||[];dataLayer.push({json.dumps(config)});</script>",
        '<script async src="/static/js/vendor.js"></script><script defer src="/static/js/app.js"></script>',
        "<script>(function(w,d){var s=d.createElement('script');s.async=1;"
        "s.src='/static/js/consent.js';d.head.appendChild(s);w.cmpReady=!0})(window,document);</script>",
    ]
    if rng.random() < 0.5:
        state = {
            "props": {"page": {"section": section, "blocks": [{"type": "p", "text": p} for p in paragraphs]}}
        }
        parts.append(f'<script id="__STATE__" type="application/json">{json.dumps(state)}</script>')
    return "".join(parts)


def nest(html: str, rng: random.Random) -> str:
    """Wrap content in the layout divs of a component framework (grid, region, block,
    container): real article bodies sit 10-20 elements deep."""
    names = ("layout", "grid", "grid__row", "grid__col", "region", "block", "block__inner", "container")
    wrappers = names[: rng.randint(3, len(names))]
    opening = "".join(f'<div class="{n}">' for n in wrappers)
    return f"{opening}{html}{'</div>' * len(wrappers)}"
