"""Compare plain trafilatura with our ``extract_article`` on a gold-text set.

Reads ``ground-truth.jsonl`` and ``html/<id>.html.gz`` in place (the data must
not be copied into the repository). Scores are token-level precision, recall
and F1 on lower-cased ``\\w+`` tokens with counts, macro-averaged over pages;
a page with empty output scores 0.

    python scripts/eval_extraction.py --data /work/shared/data/extraction-dev [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trafilatura

from services.worker.decode import decode_html
from services.worker.extract import ExtractOptions, extract_article
from shared.errors import PermanentError

_TOKEN = re.compile(r"\w+")


def scores(predicted: str, gold: str) -> tuple[float, float, float]:
    pred = Counter(_TOKEN.findall(predicted.lower()))
    ref = Counter(_TOKEN.findall(gold.lower()))
    overlap = sum((pred & ref).values())
    precision = overlap / sum(pred.values()) if pred else 0.0
    recall = overlap / sum(ref.values()) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass
class Tally:
    name: str
    prf: list[tuple[float, float, float]] = field(default_factory=list)
    millis: list[float] = field(default_factory=list)
    empty: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, gold: str, millis: float, outcome: str) -> None:
        self.prf.append(scores(text, gold))
        self.millis.append(millis)
        self.empty += not text.strip()
        self.outcomes[outcome] += 1

    def line(self) -> str:
        p, r, f = (statistics.fmean(x[i] for x in self.prf) for i in range(3))
        return (
            f"{self.name:<16} P {p:.3f}  R {r:.3f}  F1 {f:.3f}  "
            f"median-F1 {statistics.median(x[2] for x in self.prf):.3f}  "
            f"empty {self.empty:>3}  median {statistics.median(self.millis):.1f} ms/page  "
            f"paths {dict(self.outcomes)}"
        )


def _plain(body: bytes, url: str) -> tuple[str, str]:
    return trafilatura.extract(body, include_comments=False) or "", "trafilatura"


def _ours(body: bytes, url: str) -> tuple[str, str]:
    try:
        result = extract_article(decode_html(body, None), url, ExtractOptions())
    except PermanentError as exc:
        return "", str(exc.reason)
    return result.text, result.extraction_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with ground-truth.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N pages")
    args = parser.parse_args(argv)

    with (args.data / "ground-truth.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    if args.limit:
        rows = rows[: args.limit]

    runners: list[tuple[Tally, Callable[[bytes, str], tuple[str, str]]]] = [
        (Tally("trafilatura"), _plain),
        (Tally("newsflow"), _ours),
    ]
    for row in rows:
        body = gzip.decompress((args.data / "html" / f"{row['id']}.html.gz").read_bytes())
        for tally, run in runners:
            start = time.perf_counter()
            text, outcome = run(body, row["url"])
            tally.add(text, row["text"], (time.perf_counter() - start) * 1000, outcome)
    print(f"{len(rows)} pages from {args.data}")
    for tally, _ in runners:
        print(tally.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
