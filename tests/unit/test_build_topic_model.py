"""The topic model's build script: how our own training text is read and weighed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scripts.build_topic_model import (
    BAGS_PER_LINE,
    SOURCE_WEIGHT,
    TEXT_FILE,
    read_own_text,
    sample_weights,
    top_level_topics,
    word_bags,
)

CODES = ["medtop:04000000", "medtop:15000000"]

TWO_BATCHES = """\
medtop:04000000:
  en:
    - Shares rise as the bank's profits beat forecasts
medtop:15000000:
  en:
    - Champions win the cup final after extra time
---
line_weight: 0.25
medtop:04000000:
  en:
    - Shares slump as the firm's former boss goes on trial over its accounts
"""


def test_a_batch_sets_the_weight_of_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "text.yaml"
    path.write_text(TWO_BATCHES, encoding="utf-8")
    rows = read_own_text(CODES, path)
    assert [(lang, code, weight) for lang, code, _, weight in rows] == [
        ("en", "medtop:04000000", 1.0),
        ("en", "medtop:15000000", 1.0),
        ("en", "medtop:04000000", 0.25),
    ]
    bags = word_bags(rows)
    assert len(bags) == BAGS_PER_LINE * len(rows)
    # A bag keeps its line's language, topic and weight, and holds only the line's words.
    for i, (lang, code, text, weight) in enumerate(bags):
        line = rows[i // BAGS_PER_LINE]
        assert (lang, code, weight) == (line[0], line[1], line[3])
        assert set(text.split()) <= set(line[2].replace(".", "").split())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("medtop:99000000:\n  en:\n    - Not a topic\n", "not a top-level topic"),
        ("line_weight: 0\nmedtop:04000000:\n  en:\n    - Shares fall\n", "line_weight"),
        ("line_weight: 2\nmedtop:04000000:\n  en:\n    - Shares fall\n", "line_weight"),
    ],
)
def test_a_batch_outside_the_scheme_or_weights_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "text.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_own_text(CODES, path)


def test_sample_weights_by_source_line_weight_and_class() -> None:
    sources = ["own", "own", "own", "sib", "sib", "sib"]
    line_weights = np.array([1.0, 1.0, 0.25, 1.0, 1.0, 1.0])
    y = np.array([0, 1, 0, 0, 0, 1])
    sw = sample_weights(sources, line_weights, y, n_classes=2)
    own = SOURCE_WEIGHT["own"]
    # Within our own text a line counts by its weight: 1 : 1 : 0.25 of the source's total.
    assert sw[:3] == pytest.approx([own / 2.25, own / 2.25, own * 0.25 / 2.25])
    # SIB-200 is class-balanced: the lone class-1 sentence weighs as much as both class-0 ones.
    sib = SOURCE_WEIGHT["sib"]
    assert sw[3:] == pytest.approx([sib / 4, sib / 4, sib / 2])


def test_the_shipped_text_reads_with_weights_in_range() -> None:
    codes, _ = top_level_topics()
    rows = read_own_text(codes, TEXT_FILE)
    weights = {w for *_, w in rows}
    assert 1.0 in weights and all(0.0 < w <= 1.0 for w in weights)
    assert {lang for lang, *_ in rows} == {"en", "ru", "kk", "ky"}
