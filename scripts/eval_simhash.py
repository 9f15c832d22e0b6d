"""Measure SimHash distances of edited copies against those of different articles.

Reads the gold texts of a set like extraction-dev in place and builds:

- near-copies of each article: one sentence removed, one sentence added (taken
  from another article), one word changed, a wire-service header and footer
  added, and all of these at once;
- pairs of different pages: all pairs, and those from the same host.

Prints the distance distribution of each kind, so the near-duplicate threshold
can be set between them.

    python scripts/eval_simhash.py --data /work/shared/data/extraction-dev [--min-words 80]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.worker.similarity import hamming, simhash64, simhash_bands

_BAND_CHOICES = (4, 6, 8, 11)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_HEADER = "LONDON, March 3 (Newswire) - "
_FOOTER = (
    "\nReporting by a correspondent; editing by the desk.\n"
    "Copyright 2008 Newswire. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed."
)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def _edits(rng: random.Random, other: str) -> dict[str, Callable[[str], str]]:
    def remove(text: str) -> str:
        parts = _sentences(text)
        if len(parts) > 1:
            parts.pop(rng.randrange(len(parts)))
        return " ".join(parts)

    def add(text: str) -> str:
        parts = _sentences(text)
        extra = rng.choice(_sentences(other) or [other])
        parts.insert(rng.randrange(len(parts) + 1), extra)
        return " ".join(parts)

    def word(text: str) -> str:
        words = text.split()
        words[rng.randrange(len(words))] = "replaced"
        return " ".join(words)

    def wire(text: str) -> str:
        return _HEADER + text + _FOOTER

    def all_of_them(text: str) -> str:
        return wire(word(add(remove(text))))

    return {"sentence_removed": remove, "sentence_added": add, "word_changed": word,
            "wire_header_footer": wire, "all_four": all_of_them}  # fmt: skip


def _quantiles(values: list[int]) -> str:
    ordered = sorted(values)

    def q(p: float) -> int:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return (
        f"n={len(ordered):>5}  min {ordered[0]:>2}  p1 {q(0.01):>2}  p5 {q(0.05):>2}  "
        f"median {q(0.5):>2}  p95 {q(0.95):>2}  p99 {q(0.99):>2}  max {ordered[-1]:>2}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--min-words", type=int, default=80, help="skip shorter gold texts")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    with (args.data / "ground-truth.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    rows = [r for r in rows if len(r["text"].split()) >= args.min_words]
    hashes = [simhash64(r["text"]) for r in rows]

    near: dict[str, list[int]] = defaultdict(list)
    band_hits: dict[int, int] = defaultdict(int)
    for i, row in enumerate(rows):
        other = rows[(i + 1 + rng.randrange(len(rows) - 1)) % len(rows)]["text"]
        for name, edit in _edits(rng, other).items():
            copy = simhash64(edit(row["text"]))
            near[name].append(hamming(hashes[i], copy))
            for bands in _BAND_CHOICES:
                band_hits[bands] += bool(
                    set(simhash_bands(hashes[i], bands)) & set(simhash_bands(copy, bands))
                )

    # Every pair of different pages. Syndicated copies of one story (the same wire
    # text on several sites) are real near-duplicates and show up as the low tail.
    different = [hamming(hashes[i], hashes[j]) for i, j in itertools.combinations(range(len(rows)), 2)]
    by_host: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_host[urlsplit(row["url"]).netloc].append(i)
    same_host = [
        hamming(hashes[a], hashes[b])
        for members in by_host.values()
        for k, a in enumerate(members)
        for b in members[k + 1 :]
    ]

    print(f"{len(rows)} gold texts with >= {args.min_words} words from {args.data}")
    for name, values in near.items():
        print(f"near  {name:<20} {_quantiles(values)}")
    print(f"diff  {'all_pairs':<20} {_quantiles(different)}")
    print(f"diff  {'same_host_pairs':<20} {_quantiles(same_host)}")
    every_near = [v for values in near.values() for v in values]
    print("threshold  near-copies caught  different pairs flagged")
    for t in range(0, 25):
        caught = sum(v <= t for v in every_near) / len(every_near)
        wrong = sum(v <= t for v in different + same_host)
        print(f"{t:>9}  {caught:>18.3f}  {wrong:>23}")
    print("bands  near-copies sharing a band (what an LSH lookup finds)")
    for bands in _BAND_CHOICES:
        print(f"{bands:>5}  {band_hits[bands] / len(every_near):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
