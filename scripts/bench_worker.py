"""The worker's pure path against trafilatura alone, on the same pages, one process.

    python scripts/bench_worker.py                       (the fixture pages)
    python scripts/bench_worker.py --pages DIR [--limit N] [--rounds 3] [--profile]

``DIR`` holds ``*.html`` or ``*.html.gz`` files, read in place (for example the
research-only extraction-dev set). Prints, per page and in total:

  extraction alone   ``trafilatura.bare_extraction`` called as the worker's first path calls it
                     (options of :mod:`services.worker.extract`), from the decoded HTML string;
  pure path          ``build_article`` (decode, parse, metadata, extraction chain, page kind,
                     dates, SimHash, places, topics, document), no I/O;
  pure path minus topics, so the share of the tagger (another owner's module) shows.

``--profile`` runs cProfile over the pure path and prints the top functions by cumulative time.
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import pstats
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura

import services.worker.article as article_module
from services.worker.article import DuplicateQuery, build_article
from services.worker.build import Page
from services.worker.decode import decode_html
from services.worker.extract import ExtractOptions
from shared.errors import PermanentError
from shared.urls import normalize_url

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pages"


@dataclass(frozen=True)
class Sample:
    url: str
    body: bytes


def load_pages(directory: Path, limit: int | None = None) -> list[Sample]:
    paths = sorted(p for p in directory.iterdir() if p.name.endswith((".html", ".html.gz")))
    samples = []
    for path in paths[:limit]:
        body = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        stem = path.name.removesuffix(".gz").removesuffix(".html")
        samples.append(Sample(f"http://bench.test/news/2025/10/15/{stem}.html", body))
    return samples


def extraction_alone(html: str, url: str) -> Any:
    """trafilatura as the worker's first path calls it (services.worker.extract._run_chain)."""
    options = ExtractOptions()
    return trafilatura.bare_extraction(
        html,
        url=url,
        include_comments=False,
        include_tables=options.include_tables,
        favor_precision=options.favor_precision,
        with_metadata=True,
        date_extraction_params={
            "original_date": True,
            "extensive_search": False,
            "outputformat": "%Y-%m-%dT%H:%M:%S%z",
        },
    )


def _no_original(query: DuplicateQuery) -> str | None:
    return None


def pure_path(sample: Sample) -> Any:
    page = Page(sample.url, "bench", datetime.now(UTC))
    try:
        return build_article(page, sample.body, None, ExtractOptions(), _no_original, normalize_url)
    except PermanentError:
        return None


@contextmanager
def topics_off() -> Iterator[None]:
    """Replace the tagger with a no-op, to show the rest of the pure path on its own."""
    saved = article_module.tag_topics
    article_module.tag_topics = lambda *args, **kwargs: []  # type: ignore[assignment]
    try:
        yield
    finally:
        article_module.tag_topics = saved  # type: ignore[assignment]


def time_interleaved(
    variants: dict[str, Callable[[Sample], Any]], samples: list[Sample], rounds: int
) -> dict[str, list[float]]:
    """Per-page CPU seconds of each variant, the minimum over ``rounds``.

    The variants run one after the other on each page, so a busy neighbour slows them alike,
    and CPU time (``process_time``) leaves out the time other processes held the core.
    """
    best = {name: [float("inf")] * len(samples) for name in variants}
    for _ in range(rounds):
        for i, sample in enumerate(samples):
            for name, run in variants.items():
                start = time.process_time()
                run(sample)
                best[name][i] = min(best[name][i], time.process_time() - start)
    return best


def summary(name: str, seconds: list[float]) -> str:
    total = sum(seconds)
    median = statistics.median(seconds) * 1000
    return (
        f"  {name:<26} {len(seconds) / total:7.1f} pages/s   median {median:6.1f} ms   total {total:6.2f} s"
    )


def _pure_path_without_topics(sample: Sample) -> Any:
    with topics_off():
        return pure_path(sample)


def measure(samples: list[Sample], rounds: int) -> dict[str, list[float]]:
    """CPU seconds per page: extraction alone, the pure path, the pure path without topics."""
    htmls = {id(s): decode_html(s.body, None) for s in samples}
    for s in samples[:3]:  # warm caches: gazetteer, lexicon, trafilatura's own
        pure_path(s)
    variants: dict[str, Callable[[Sample], Any]] = {
        "extraction alone": lambda s: extraction_alone(htmls[id(s)], s.url),
        "pure path": pure_path,
        "pure path without topics": _pure_path_without_topics,
    }
    return time_interleaved(variants, samples, rounds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=Path, default=FIXTURES)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-topics", action="store_true", help="profile without the tagger")
    args = parser.parse_args()
    samples = load_pages(args.pages, args.limit)
    if args.profile:
        for s in samples[:3]:
            pure_path(s)
        profiler = cProfile.Profile()
        if args.no_topics:
            with topics_off():
                profiler.runcall(lambda: [pure_path(s) for s in samples])
        else:
            profiler.runcall(lambda: [pure_path(s) for s in samples])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return
    results = measure(samples, args.rounds)
    print(
        f"worker pure path, {len(samples)} pages from {args.pages}, one process, "
        f"CPU time, best of {args.rounds}:"
    )
    for name, seconds in results.items():
        print(summary(name, seconds))
    base = sum(results["extraction alone"])
    for name in ("pure path", "pure path without topics"):
        print(f"  ratio {name}/extraction: {sum(results[name]) / base:.2f}")


if __name__ == "__main__":
    main()
