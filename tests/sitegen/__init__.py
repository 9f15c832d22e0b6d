"""A generated news site for chaos runs and benchmarks: deterministic from a seed.

    with serve(articles=300, seed=1) as site:
        site.base_url, site.expected_articles(), site.faults.error(0.3, 60)

N articles under five outlets' templates (``<article>``/``<section>``/``<div>`` layouts,
bylines, related-links boxes, comments, cookie banners, share bars; JSON-LD, Open Graph and
canonical links on some), short briefs to long features, eight topics, English with some
German, French and Spanish; a home page, paginated section pages, an RSS feed, a sitemap
index with Google News sitemaps and robots.txt. The prose is generated from word banks and
sentence frames, so distinct articles are never SimHash near-duplicates of each other.

CLI: ``python -m tests.sitegen --articles 2000 [--seed 1] [--port 0] [--poison]`` prints the
base URL and serves until interrupted.
"""

from tests.sitegen.pages import GenArticle, generate
from tests.sitegen.poison import POISON_PATH, POISON_TITLE
from tests.sitegen.server import Access, AccessLog, Expected, Faults, GeneratedSite, serve

__all__ = [
    "POISON_PATH",
    "POISON_TITLE",
    "Access",
    "AccessLog",
    "Expected",
    "Faults",
    "GenArticle",
    "GeneratedSite",
    "generate",
    "serve",
]
