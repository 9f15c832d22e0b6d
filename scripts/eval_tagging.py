"""Measure the topic taggers on the labelled dev sets (read in place, never copied).

Usage: python scripts/eval_tagging.py --data ../shared/data/topics-dev [--part test|dev|all]

For the learned model (services/worker/topic_model.py) and the keyword lexicon
(services/worker/topics.py) side by side, on the part of each set that was not used to tune
anything (``--part test``, the default):

- BBC News: top-1 topic mapped to BBC's five classes through eval_tagging_mapping.yaml (an
  article with no topic counts as wrong); also the four coarse classes business, sport,
  sci/tech, world (entertainment folded into world, as in 4-class news benchmarks); and
  "short": the same four classes on the headline and the first two sentences of the body
  (at most ``SHORT_CHARS``), like the items of 4-class news benchmarks (AG News style).
- 24.kg (Kyrgyz, multi-label): hit@1 and coverage.
- SIB-200 test in English, Russian, Kazakh, Kyrgyz: seven classes, mapped (``--part dev``:
  SIB-200's dev split, so a dev run never shows a test figure).
- Median and p95 milliseconds per article (language identification + tagging, one core)
  and the process's peak RSS after loading the model.

BBC and 24.kg are split in two halves by a hash of the file name / id (``split_of``):
"dev" was used to choose the model's settings, "test" never was. SIB-200 has its own
train/dev/test; the model is fitted on train, tuned on dev, and measured on test.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.worker import topic_model, topics
from services.worker.language import identify_language

MAPPING = Path(__file__).parent / "eval_tagging_mapping.yaml"
SIB_LANGS = {"eng_Latn": "en", "rus_Cyrl": "ru", "kaz_Cyrl": "kk", "kir_Cyrl": "ky"}
# BBC's five desks folded into the four classes of 4-class English news benchmarks.
BBC_TO_COARSE = {
    "business": "business",
    "sport": "sport",
    "tech": "sci/tech",
    "politics": "world",
    "entertainment": "world",
}

# The "short" BBC variant: headline + this many sentences of the body, at most SHORT_CHARS.
SHORT_SENTENCES = 2
SHORT_CHARS = 400
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

Tagger = Callable[[str, str, str | None], str | None]


def split_of(key: str) -> str:
    """ "dev" or "test": a fixed half of a set, by a hash of the item's key."""
    return "dev" if hashlib.sha256(key.encode("utf-8")).digest()[0] < 128 else "test"


def _model_top1(title: str, text: str, language: str | None) -> str | None:
    found = topic_model.tag_topics(title, text, language, max_topics=1)
    return found[0].code if found else None


def _lexicon_top1(title: str, text: str, language: str | None) -> str | None:
    found = topics.tag_topics(title, text, language, max_topics=1)
    return found[0].code if found else None


TAGGERS: dict[str, Tagger] = {
    f"model {topic_model.TAGGER_NAME} {topic_model.TAGGER_VERSION}": _model_top1,
    f"lexicon {topics.TAGGER_NAME} {topics.TAGGER_VERSION}": _lexicon_top1,
}


@dataclass
class Item:
    key: str
    title: str
    text: str
    gold: set[str]


@dataclass
class Score:
    n: int = 0
    tagged: int = 0
    hits: int = 0
    times: list[float] = field(default_factory=list)

    def line(self) -> str:
        if not self.n:
            return "n/a"
        return f"{self.hits / self.n:6.1%} acc  {self.tagged / self.n:6.1%} coverage  (n={self.n})"


def bbc_items(root: Path, part: str) -> Iterator[Item]:
    for cls_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(cls_dir.glob("*.txt")):
            key = f"{cls_dir.name}/{path.name}"
            if part != "all" and split_of(key) != part:
                continue
            raw = path.read_bytes().decode("utf-8", errors="replace")
            title, _, body = raw.partition("\n")
            yield Item(key, title.strip(), body.strip(), {cls_dir.name})


def shortened(item: Item) -> Item:
    """Headline + the first ``SHORT_SENTENCES`` sentences of the body (<= ``SHORT_CHARS``)."""
    lead = " ".join(_SENTENCE_END.split(item.text.strip())[:SHORT_SENTENCES])[:SHORT_CHARS]
    return Item(item.key, item.title, lead, item.gold)


def kg_items(path: Path, part: str) -> Iterator[Item]:
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if not row["text"].strip() or (part != "all" and split_of(row["id"]) != part):
                continue
            title, _, body = row["text"].strip().partition("\n")
            labels = {label.strip() for label in row["labels_set"].split(",")}
            yield Item(row["id"], title.strip(), body.strip(), labels)


def sib_items(root: Path, folder: str, part: str) -> Iterator[Item]:
    """SIB-200's split of the same name (``all``: dev and test; train is fitted on)."""
    for split in ("dev", "test") if part == "all" else (part,):
        with (root / folder / f"{split}.tsv").open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                yield Item(row["index_id"], "", row["text"], {row["category"]})


def run(items: list[Item], tagger: Tagger, mapping: dict[str, list[str]]) -> tuple[Score, Counter[str]]:
    score = Score()
    predicted: Counter[str] = Counter()
    for item in items:
        start = time.perf_counter()
        language = identify_language(item.title, item.text).language
        code = tagger(item.title, item.text, language)
        score.times.append((time.perf_counter() - start) * 1000.0)
        score.n += 1
        if code is None:
            predicted["-"] += 1
            continue
        score.tagged += 1
        classes = set(mapping.get(code, []))
        predicted[",".join(sorted(classes)) or "?"] += 1
        score.hits += bool(classes & item.gold)
    return score, predicted


def _as_lists(section: dict[str, str | list[str]]) -> dict[str, list[str]]:
    return {code: ([v] if isinstance(v, str) else list(v)) for code, v in section.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/topics-dev"))
    parser.add_argument("--part", choices=("test", "dev", "all"), default="test")
    args = parser.parse_args(argv)
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    bbc_map = _as_lists(mapping["bbc"])
    coarse_map = {code: [BBC_TO_COARSE[c] for c in classes] for code, classes in bbc_map.items()}

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    topic_model.tag_topics("warm-up", "load the model once", "en")
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    bbc = list(bbc_items(args.data / "bbc", args.part))
    bbc_coarse = [Item(i.key, i.title, i.text, {BBC_TO_COARSE[c] for c in i.gold}) for i in bbc]
    kg = list(kg_items(args.data / "kyrgyz-24kg" / "qad-train_1000.csv", args.part))
    sets: list[tuple[str, list[Item], dict[str, list[str]]]] = [
        ("BBC, 5 classes", bbc, bbc_map),
        ("BBC, 4 coarse classes", bbc_coarse, coarse_map),
        ("BBC short (headline + 2 sentences), 4 classes", [shortened(i) for i in bbc_coarse], coarse_map),
        ("24.kg Kyrgyz, hit@1", kg, _as_lists(mapping["kyrgyz_24kg"])),
    ]
    for folder, lang in SIB_LANGS.items():
        items = list(sib_items(args.data / "sib200", folder, args.part))
        sets.append((f"SIB-200 {args.part} {lang}, 7 classes", items, _as_lists(mapping["sib200"])))

    print(f"part: {args.part} (BBC and 24.kg halves by split_of; SIB-200's {args.part} split)")
    all_times: dict[str, list[float]] = {name: [] for name in TAGGERS}
    for set_name, items, set_map in sets:
        print(f"{set_name} ({len(items)} items)")
        for name, tagger in TAGGERS.items():
            score, predicted = run(items, tagger, set_map)
            if not set_name.startswith(("BBC, 4", "BBC short")):
                all_times[name].extend(score.times)
            top = ", ".join(f"{k} {v}" for k, v in predicted.most_common(4))
            print(f"  {name:<32} {score.line()}   top predictions: {top}")
    print("speed: language identification + top-1 tagging, per article, one core")
    for name, times in all_times.items():
        ordered = sorted(times)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"  {name:<32} median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms")
    print(
        f"peak RSS: {rss_before:.0f} MB before loading the model, {rss_model:.0f} MB after "
        f"(model file {topic_model.MODEL_PATH.stat().st_size / 1e6:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
