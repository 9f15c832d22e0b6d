"""The poison article: a page whose extraction runs far past the chaos run's hard time limit.

Nothing in it is malformed. It is simply a lot of work within every cap the worker applies:
about 4.6 MB of prose in ~37,000 paragraphs, under ``MAX_BODY_BYTES`` (5 MB) and under the
extractor's 40,000-element limit. On this 2-core machine the worker's pure path takes about
15 s on it, while a normal generated article takes well under 0.5 s. The chaos run sets a
hard ``TASK_TIME_LIMIT`` between the two (and no soft limit), so Celery's pool SIGKILLs the
child every time the page is tried: the page "kills its process", as a page that crashed
lxml would, without harming the server that sends it. ``scripts/chaos.py`` measures both
times first and refuses to run the scenario if the gap is too small.
"""

from __future__ import annotations

import random

POISON_PATH = "/politics/2026/11/30/poison-page-that-never-finishes-extracting.html"
POISON_TITLE = "Poison Page That Never Finishes Extracting"
PARAGRAPHS = 37_000
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def poison_page(base: str) -> str:
    rng = random.Random(4242)
    words = ["".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 9))) for _ in range(6000)]
    paras = "".join(
        "<p>" + " ".join(rng.choice(words) for _ in range(18)) + ".</p>" for _ in range(PARAGRAPHS)
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{POISON_TITLE}</title>'
        f'<meta property="og:title" content="{POISON_TITLE}">'
        f'<link rel="canonical" href="{base}{POISON_PATH}"></head>'
        f"<body><article><h1>{POISON_TITLE}</h1>{paras}</article></body></html>"
    )
