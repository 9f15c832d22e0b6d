"""Measure the topic tagger on the labelled dev sets (read in place, never copied).

Usage: python scripts/eval_tagging.py --data ../shared/data/topics-dev

Prints per-class and overall accuracy on BBC News (top-1 topic mapped to BBC's five classes
through scripts/eval_tagging_mapping.yaml; an article with no topic counts as wrong), hit@1
and coverage on 24.kg (Kyrgyz, multi-label), and the median milliseconds per article.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.worker.topics import TAGGER_NAME, TAGGER_VERSION, tag_topics

MAPPING = Path(__file__).parent / "eval_tagging_mapping.yaml"


def _timed_top1(title: str, text: str, language: str | None) -> tuple[str | None, float]:
    start = time.perf_counter()
    topics = tag_topics(title, text, language)
    elapsed = (time.perf_counter() - start) * 1000.0
    return (topics[0].code if topics else None), elapsed


def eval_bbc(root: Path, mapping: dict[str, str], language: str | None) -> list[float]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    untagged = 0
    confusion: Counter[tuple[str, str]] = Counter()
    times: list[float] = []
    for cls in classes:
        for path in sorted((root / cls).glob("*.txt")):
            raw = path.read_bytes().decode("utf-8", errors="replace")
            title, _, body = raw.partition("\n")
            code, ms = _timed_top1(title.strip(), body.strip(), language)
            times.append(ms)
            predicted = mapping.get(code, "-") if code else "-"
            untagged += code is None
            total[cls] += 1
            correct[cls] += predicted == cls
            confusion[(cls, predicted)] += 1
    print(f"BBC News ({sum(total.values())} articles, language={language or 'detected'})")
    for cls in classes:
        wrong = {p: n for (c, p), n in confusion.items() if c == cls and p != cls}
        print(
            f"  {cls:<14} {correct[cls] / total[cls]:7.1%}  ({correct[cls]}/{total[cls]})"
            f"  errors: {dict(sorted(wrong.items(), key=lambda kv: -kv[1]))}"
        )
    n = sum(total.values())
    print(f"  {'overall':<14} {sum(correct.values()) / n:7.1%}  ({sum(correct.values())}/{n})")
    print(f"  untagged       {untagged / n:7.1%}  ({untagged}/{n})")
    return times


def eval_24kg(path: Path, mapping: dict[str, list[str]], language: str | None) -> list[float]:
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    tagged = hits = 0
    times: list[float] = []
    for row in rows:
        labels = {label.strip() for label in row["labels_set"].split(",")}
        title, _, body = row["text"].partition("\n")
        code, ms = _timed_top1(title.strip(), body.strip(), language)
        times.append(ms)
        if code is None:
            continue
        tagged += 1
        hits += bool(labels & set(mapping.get(code, [])))
    n = len(rows)
    print(f"24.kg Kyrgyz ({n} articles, language={language or 'detected'})")
    print(f"  coverage       {tagged / n:7.1%}  ({tagged}/{n} articles got a topic)")
    rate = f"{hits / tagged:7.1%}" if tagged else "    n/a"
    print(f"  hit@1 (tagged) {rate}  ({hits}/{tagged})")
    print(f"  hit@1 (all)    {hits / n:7.1%}  ({hits}/{n}, untagged counted as misses)")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/topics-dev"))
    args = parser.parse_args(argv)
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    print(f"tagger {TAGGER_NAME} {TAGGER_VERSION}")
    bbc_times = eval_bbc(args.data / "bbc", mapping["bbc"], None)
    kg = args.data / "kyrgyz-24kg" / "qad-train_1000.csv"
    kg_times = eval_24kg(kg, mapping["kyrgyz_24kg"], None)
    for name, times in (("BBC", bbc_times), ("24.kg", kg_times), ("all", bbc_times + kg_times)):
        print(f"median {statistics.median(times):.2f} ms per article on {name} (1 core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
