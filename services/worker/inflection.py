# ruff: noqa: RUF001, RUF002  (Cyrillic suffixes are meant)
"""Kazakh and Kyrgyz inflection: the stems a word form may come from.

Both languages build a word form by adding suffixes to a stem, one after another:
Kyrgyz "өкмөтүнүн" (the government's) is өкмөт + ү (its) + нүн (of), Kazakh "қаласында"
(in its city) is қала + сы + нда. The topic model knows some words whole, from its
training text, but meets most of them inflected. ``stems`` peels the case, plural,
possessive and attributive suffixes (each in its vowel-harmony variants) off the end of a
word, up to ``MAX_PEELS`` of them, so the model can look each shorter form up in turn.
Pure functions; the lists are grammar, not learned.
"""

from __future__ import annotations

# The languages whose words are peeled (ISO 639-1).
PEELING_LANGUAGES = frozenset({"kk", "ky"})
# A stem keeps at least this many letters: shorter ones are too often another word.
MIN_STEM = 4
# At most this many suffixes come off one word (stem + possessive + case is the usual most).
MAX_PEELS = 3


def _variants(*groups: str) -> frozenset[str]:
    return frozenset(s for group in groups for s in group.split())


_KYRGYZ = _variants(
    "лар лер лор лөр дар дер дор дөр тар тер тор төр",  # plural
    "нын нин нун нүн дын дин дун дүн тын тин тун түн",  # genitive
    "га ге го гө ка ке ко кө на не но нө",  # dative
    "ны ни ну нү ды ди ду дү ты ти ту тү",  # accusative
    "да де до дө та те то тө нда нде ндо ндө",  # locative
    "дан ден дон дөн тан тен тон төн нан нен нон нөн",  # ablative
    "дагы деги догу дөгү тагы теги тогу төгү ндагы ндеги ндогу ндөгү",  # attributive
    "сы си су сү ы и у ү",  # third-person possessive
)
_KAZAKH = _variants(
    "лар лер дар дер тар тер",  # plural
    "ның нің дың дің тың тің",  # genitive
    "ға ге қа ке на не",  # dative
    "ны ні ды ді ты ті",  # accusative
    "да де та те нда нде",  # locative
    "дан ден тан тен нан нен",  # ablative
    "мен бен пен",  # instrumental
    "дағы дегі тағы тегі ндағы ндегі",  # attributive
    "сы сі ы і",  # third-person possessive
)
# Longest first, so "ндагы" comes off before "ы".
_SUFFIXES = tuple(sorted(_KYRGYZ | _KAZAKH, key=lambda s: (-len(s), s)))


def stems(word: str) -> tuple[str, ...]:
    """The shorter forms ``word`` (lower case) may be inflected from, nearest first: every
    way of peeling one suffix, then two, up to ``MAX_PEELS``; each at least ``MIN_STEM``
    letters. A form that is no real stem costs only a failed lookup (the tokenizer caches
    each word's outcome, so a word is peeled once)."""
    found: dict[str, None] = {}  # insertion-ordered and without repeats
    frontier = [word]
    for _ in range(MAX_PEELS):
        frontier = [
            form[: -len(s)]
            for form in frontier
            for s in _SUFFIXES
            if form.endswith(s) and len(form) - len(s) >= MIN_STEM
        ]
        found.update(dict.fromkeys(frontier))
    return tuple(found)
