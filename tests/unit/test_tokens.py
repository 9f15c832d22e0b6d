# ruff: noqa: RUF001  (Cyrillic and typographic apostrophes are meant)
"""Shared tokens: one object per text, its views equal to the tokenisations they replaced.

The reference tokenisers below are the code SimHash and places ran before the shared
:class:`Tokens` (a regex pass each, per text); the views must give exactly the same words on
our fixture pages and on random text built from the characters that make tokenising hard.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from services.worker.decode import decode_html
from services.worker.extract import ExtractOptions, extract_article
from services.worker.places import _Words
from services.worker.tokens import Tokens

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"

# --- the tokenisers that were replaced ---------------------------------------------------

_SIMHASH_TOKEN = re.compile(r"\w+")
_PLACES_TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[^\W\d_]+(?:['’-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s?$")
_SENTENCE_BREAK = frozenset('.!?…\n"«»“”:;')


def reference_simhash_words(text: str) -> list[str]:
    return _SIMHASH_TOKEN.findall(text.lower())


def reference_places_tokens(text: str) -> list[tuple[str, str, bool, bool]]:
    """(as written, lower-cased, first of a sentence, glued to the previous) per token."""
    tokens: list[tuple[str, str, bool, bool]] = []
    prev_end = 0
    for m in _PLACES_TOKEN.finditer(text):
        raw = m.group()
        word = raw if raw.endswith(".") else _POSSESSIVE.sub("", raw) or raw
        gap = text[prev_end : m.start()]
        initial = not tokens or any(ch in _SENTENCE_BREAK for ch in gap)
        glued = bool(tokens) and gap.strip(" ") == ""
        tokens.append((word, word.lower().replace("ё", "е"), initial, glued))
        prev_end = m.end()
    return tokens


def places_tokens(text: str) -> list[tuple[str, str, bool, bool]]:
    words = _Words.of(Tokens(text))
    return [(words.text[i], words.lower[i], words.initial(i), words.glued(i)) for i in range(len(words.text))]


# --- texts -------------------------------------------------------------------------------

TRICKY = [
    "",
    "   ",
    "!!! ... ---",
    "The U.S. and the U.K. met; U.S.-based firms, A.B.Smith and AU.S. too.",
    "5U.S. x_y 12 G20 covid-19 rock-'n'-roll O'Neill’s Syria's SYRIA'S Guinea-Bissau",
    "pro-Russian, Syrian-Turkish; Kazakh–Russian (en dash) and Kyrgyz—Chinese (em dash).",
    "Ёлка в Москве. «Казахстан» — Кыргызстан: ЁЖ, ёж, Ёж.",
    "İstanbul İİ ǅemal ß ﬁ ½ Ⅻ ² ٣ tab\there\nnew line… “quoted” end",
    "a", "a b", "a b c",
]  # fmt: skip


def _fixture_texts() -> list[str]:
    texts = []
    for path in sorted(PAGES.glob("article_*.html")):
        body = path.read_bytes()
        texts.append(
            extract_article(
                decode_html(body, None), f"http://fixture.test/{path.name}", ExtractOptions()
            ).text
        )
    return texts


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "aAbZsSİıёЁйЙ_19 .,-–'’\"«»\n\t…:;!?ßǅ½²"
    words = ["U.S.", "Syria's", "O'Neill", "al-Assad", "Москве", "2025", "x_1", "Guinea-Bissau"]
    texts = []
    for _ in range(count):
        parts = [
            rng.choice(words)
            if rng.random() < 0.3
            else "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
            for _ in range(rng.randrange(30))
        ]
        texts.append(rng.choice(["", " ", "-", "."]).join(parts))
    return texts


ALL_TEXTS = [*TRICKY, *_fixture_texts(), *_random_texts(2000, seed=7)]


# --- tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", TRICKY)
def test_words_are_the_lower_cased_word_runs(text: str) -> None:
    assert Tokens(text).words == reference_simhash_words(text)


@pytest.mark.parametrize("text", TRICKY)
def test_spelled_words_are_what_places_tokenised(text: str) -> None:
    assert places_tokens(text) == reference_places_tokens(text)


def test_views_equal_the_replaced_tokenisers_on_fixtures_and_random_text() -> None:
    for text in ALL_TEXTS:
        assert Tokens(text).words == reference_simhash_words(text), text
        assert places_tokens(text) == reference_places_tokens(text), text


def test_spelled_gaps_and_words_rebuild_the_text() -> None:
    for text in ALL_TEXTS:
        tokens = Tokens(text)
        gaps, spelled = tokens.gaps, tokens.spelled
        assert len(gaps) == len(spelled) + 1
        rebuilt = "".join(g + w for g, w in zip(gaps, [*spelled, ""], strict=True))
        assert rebuilt == text


def test_spelled_lower_reads_yo_as_ye() -> None:
    tokens = Tokens("Ёлка и ЁЖ in U.S.")
    assert tokens.spelled == ["Ёлка", "и", "ЁЖ", "in", "U.S."]
    assert tokens.spelled_lower == ["елка", "и", "еж", "in", "u.s."]


def test_views_are_computed_once() -> None:
    tokens = Tokens("one two three")
    assert tokens.words is tokens.words
    assert tokens.spelled is tokens.spelled
