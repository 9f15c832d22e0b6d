# ruff: noqa: RUF001, RUF003  (Russian endings and words are meant to be Cyrillic)
"""Places: the countries a news text mentions, as ISO 3166-1 alpha-2 codes by salience.

The gazetteer is pycountry's country list (English names, and the Russian names of the
iso-codes translations it ships) plus data/place_names.yaml: short names, demonyms
("Syrian", "сирийский"), major cities (Damascus -> SY, Бишкек -> KG) and a few metonyms.

* English names match case-sensitively, so "turkey" the bird and "china" the porcelain
  never count; the longest name wins, so "Papua New Guinea" is not also "Guinea".
* Russian names match their inflected forms (Москва, Москве, Москвой) by stripping a known
  case ending; capitalised names need a capital in the text, lower-case demonyms do not.
* Ambiguous names (Georgia, Jordan, Chad, Turkey, ...) count only with a supporting signal:
  a supporting word anywhere in the text (capital, demonym, region), or, with no word
  against them, a locative word right before them and no neighbouring capitalised word
  that would make them part of a person's name ("Michael Jordan", "Chad Smith").

Pure: the data files are read once and cached; no other I/O.
"""

from __future__ import annotations

import gettext
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pycountry
import yaml

from services.worker.tokens import Tokens

_DATA_DIR = resources.files("services.worker") / "data"  # package data

TITLE_WEIGHT = 3  # a title mention counts this many body mentions
MAX_TEXT_CHARS = 20_000  # bounds the time on a huge page (~15 ms); salience shows early
_MAX_SUFFIX = 4  # longest Russian case ending stripped

_POSSESSIVE = ("'s", "’s")
_SENTENCE_BREAK = frozenset('.!?…\n"«»“”:;')

_EN_LOCATIVE = frozenset(
    {"in", "to", "from", "of", "into", "across", "with", "visit", "visited", "visiting",
     "against", "between", "and", "neighbouring", "neighboring", "toward", "towards",
     "via", "near", "throughout", "including", "for", "by", "on", "at", "over"}
)  # fmt: skip
_RU_LOCATIVE = frozenset(
    {"в", "во", "из", "с", "со", "на", "до", "посетил", "посетила", "визит", "между",
     "и", "для", "к", "по", "через"}
)  # fmt: skip

_LOCATIVE = _EN_LOCATIVE | _RU_LOCATIVE

_ADJ_ENDINGS = frozenset(
    {"ий", "ый", "ой", "ая", "ое", "ие", "ые", "ого", "его", "ому", "ему", "им", "ым",
     "ом", "ем", "ую", "юю", "ей", "их", "ых", "ими", "ыми", "яя", "ее"}
)  # fmt: skip
_IA_ENDINGS = frozenset({"ия", "ии", "ию", "ией"})
_YA_ENDINGS = frozenset({"я", "и", "ю", "е", "ей", "ею"})
_A_ENDINGS = frozenset({"а", "ы", "и", "е", "у", "ой", "ою"})
_SOFT_ENDINGS = frozenset({"ь", "и", "ью", "я", "ю", "е", "ем"})
_J_ENDINGS = frozenset({"й", "я", "ю", "е", "ем"})
_PLURAL_ENDINGS = frozenset({"ы", "и", "ов", "ев", "ам", "ами", "ах"})
_PLURAL_E_ENDINGS = frozenset({"е", "", "ам", "ами", "ах"})
_CONSONANT_ENDINGS = frozenset({"", "а", "у", "е", "ом", "ы", "ов", "ам", "ах", "ами"})
_NEUTER_ENDINGS = frozenset({"о", "а", "у", "ом", "е"})
_EXACT = frozenset({""})


@dataclass(frozen=True)
class _Words:
    """A text's words as places reads them: as written with a possessive 's dropped, the same
    lower-cased (yo read as ye), and ``gaps[i]``, the text between word ``i - 1`` and word ``i``."""

    text: list[str]
    lower: list[str]
    gaps: list[str]

    @classmethod
    def of(cls, tokens: Tokens) -> _Words:
        text, lower = tokens.spelled, tokens.spelled_lower
        if any(p in tokens.text for p in _POSSESSIVE) and any(word.endswith(_POSSESSIVE) for word in text):
            text, lower = list(text), list(lower)
            for i, word in enumerate(text):
                if word.endswith(_POSSESSIVE):
                    # "'s" lower-cases to itself, so the lower-cased form loses the same 2 chars
                    text[i], lower[i] = word[:-2], lower[i][:-2]
        return cls(text, lower, tokens.gaps)

    @classmethod
    def single(cls, word: str) -> _Words:
        """One word known to be a whole token (a part of a hyphenated word)."""
        if word.endswith(_POSSESSIVE):
            word = word[:-2]
        return cls([word], [word.lower().replace("ё", "е")], [""])

    def initial(self, i: int) -> bool:
        """First word of a sentence (or of the text)."""
        return i == 0 or not _SENTENCE_BREAK.isdisjoint(self.gaps[i])

    def glued(self, i: int) -> bool:
        """Only spaces between this word and the previous one."""
        return i > 0 and self.gaps[i].strip(" ") == ""


@dataclass(frozen=True)
class _RuWord:
    key: str
    endings: frozenset[str]
    mode: str  # "any" (demonym), "cap" (capitalised name), "upper" (abbreviation)

    def matches(self, text: str, low: str) -> bool:
        if not low.startswith(self.key) or low[len(self.key) :] not in self.endings:
            return False
        if self.mode == "upper":
            return text.isupper()
        return self.mode == "any" or text[:1].isupper()


@dataclass(frozen=True)
class _Ambiguous:
    code: str
    support: re.Pattern[str] | None
    against: re.Pattern[str] | None
    person: bool


@dataclass(frozen=True)
class _Gazetteer:
    # English: first word -> [(words, code or "" for a blocker)], longest first
    en: dict[str, list[tuple[tuple[str, ...], str]]]
    # Russian: key of the first word -> [(words, code or "")], longest first
    ru: dict[str, list[tuple[tuple[_RuWord, ...], str]]]
    ambiguous: dict[str, _Ambiguous]  # by name as written
    ru_initials: frozenset[str]  # first letters of the Russian keys: other words skip the lookup
    ru_initial_re: re.Pattern[str]  # any of them, either case (yo too when ye is one)


def _ru_word(word: str) -> _RuWord:
    w = word.lower().replace("ё", "е")
    if word.isupper() and len(word) > 1:
        return _RuWord(w, _EXACT, "upper")
    mode = "cap" if word[:1].isupper() else "any"
    if w.endswith(("ий", "ый", "ой", "ая", "ое", "ые", "ие")):
        return _RuWord(w[:-2], _ADJ_ENDINGS, mode)
    if w.endswith("ия"):
        return _RuWord(w[:-2], _IA_ENDINGS, mode)
    if w.endswith("ы") or (w.endswith("и") and mode == "any"):
        return _RuWord(w[:-1], _PLURAL_ENDINGS, mode)
    if w.endswith("е") and mode == "any":
        return _RuWord(w[:-1], _PLURAL_E_ENDINGS, mode)
    for ending, endings in (("я", _YA_ENDINGS), ("а", _A_ENDINGS), ("ь", _SOFT_ENDINGS)):
        if w.endswith(ending):
            return _RuWord(w[: -len(ending)], endings, mode)
    if w.endswith("й"):
        return _RuWord(w[:-1], _J_ENDINGS, mode)
    if w.endswith("ство"):  # Королевство: a Russian neuter noun declines
        return _RuWord(w[:-1], _NEUTER_ENDINGS, mode)
    if w[-1:] in "оуиеэю":  # indeclinable: Того, Перу, Тбилиси, Баку
        return _RuWord(w, _EXACT, mode)
    return _RuWord(w, _CONSONANT_ENDINGS, mode)


def _phrase_re(terms: list[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


@cache
def _gazetteer() -> _Gazetteer:
    data = yaml.safe_load((_DATA_DIR / "place_names.yaml").read_text(encoding="utf-8"))
    ru_names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"])
    names: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"en": set(), "ru": set()})
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if not value or "," in value or "(" in value:
                continue
            names[country.alpha_2]["en"].add(value)
            translated = ru_names.gettext(value)
            if translated != value and "," not in translated and "(" not in translated:
                names[country.alpha_2]["ru"].add(translated)
    for code, entry in data["countries"].items():
        if pycountry.countries.get(alpha_2=code) is None:
            raise ValueError(f"place_names.yaml: {code} is not an ISO 3166-1 alpha-2 code")
        for lang in ("en", "ru"):
            names[code][lang].update(entry.get(lang) or [])

    ambiguous = {
        name: _Ambiguous(
            spec["code"], _phrase_re(spec["support"]), _phrase_re(spec["against"]), spec["person"]
        )
        for name, spec in data["ambiguous"].items()
    }
    en: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
    ru: dict[str, list[tuple[tuple[_RuWord, ...], str]]] = defaultdict(list)

    def add(name: str, code: str) -> None:
        words = tuple(_Words.of(Tokens(name)).text)
        if not words:
            return
        if re.search(r"[а-яА-ЯёЁ]", name):
            ru_words = tuple(_ru_word(w) for w in words)
            ru[ru_words[0].key].append((ru_words, code))
        else:
            en[words[0]].append((words, code))

    for code, by_lang in sorted(names.items()):
        for name in sorted(by_lang["en"] | by_lang["ru"]):
            if name not in ambiguous:
                add(name, code)
    for name, amb in ambiguous.items():
        add(name, amb.code)
    for name in data["blockers"]["en"] + data["blockers"]["ru"]:
        add(name, "")
    for table in (en, ru):
        for entries in table.values():
            entries.sort(key=lambda e: -len(e[0]))
    initials = frozenset(key[:1] for key in ru)
    letters = "".join(sorted(initials | ({"ё"} if "е" in initials else set())))
    initial_re = re.compile(f"[{re.escape(letters)}]", re.IGNORECASE) if letters else re.compile("(?!)")
    return _Gazetteer(dict(en), dict(ru), ambiguous, initials, initial_re)


def _match_at(gaz: _Gazetteer, words: _Words, i: int) -> tuple[int, str, str] | None:
    """Longest name starting at word ``i``: (length, code, name as written) or None."""
    texts, lowers = words.text, words.lower
    best: tuple[int, str, str] | None = None
    for name, code in gaz.en.get(texts[i], ()):
        n = len(name)
        if tuple(texts[i : i + n]) == name:
            best = (n, code, " ".join(name))
            break
    low = lowers[i]
    if low[:1] not in gaz.ru_initials:  # every key looked up below starts with low[0]
        return best
    for cut in range(len(low), max(len(low) - _MAX_SUFFIX, 1) - 1, -1):
        for ru_words, code in gaz.ru.get(low[:cut], ()):
            n = len(ru_words)
            if (
                (best is None or n > best[0])
                and i + n <= len(texts)
                and all(w.matches(texts[i + k], lowers[i + k]) for k, w in enumerate(ru_words))
            ):
                best = (n, code, " ".join(texts[i : i + n]))
    return best


def _ambiguous_ok(amb: _Ambiguous, words: _Words, i: int, n: int, context: str) -> bool:
    if amb.support is not None and amb.support.search(context):
        return True
    if amb.against is not None and amb.against.search(context):
        return False
    prev = i - 1 if i > 0 else None
    nxt = i + n if i + n < len(words.text) else None
    locative = prev is not None and words.lower[prev] in _LOCATIVE
    # Part of a person's name: a capitalised word right next to it ("Michael Jordan").
    if (prev is not None and words.glued(i) and not words.initial(i) and words.text[prev][:1].isupper()) or (
        nxt is not None and words.glued(nxt) and not words.initial(nxt) and words.text[nxt][:1].isupper()
    ):
        return False
    if amb.person:
        return locative
    return locative or not words.initial(i)


def _count(
    gaz: _Gazetteer, words: _Words, weight: int, context: str, scores: dict[str, int], order: list[str]
) -> None:
    texts, lowers = words.text, words.lower
    en, ru_initials = gaz.en, gaz.ru_initials
    # Only a word that starts an English name, may start a Russian one, or holds a hyphen can
    # count; one comprehension finds them, and the loop below visits nothing else.
    starts = [i for i, word in enumerate(texts) if word in en or "-" in word]
    if gaz.ru_initial_re.search(context):
        starts = sorted({*starts, *(i for i, low in enumerate(lowers) if low[:1] in ru_initials)})
    free = 0  # the first word not consumed by a longer name
    for i in starts:
        if i < free:
            continue
        word = texts[i]
        match = _match_at(gaz, words, i) if word in en or lowers[i][:1] in ru_initials else None
        if match is None and "-" in word:  # "pro-Russian", "Syrian-Turkish"
            for part in word.split("-"):
                sub = _match_at(gaz, _Words.single(part), 0)
                if sub and sub[1] and sub[2] not in gaz.ambiguous:
                    scores[sub[1]] = scores.get(sub[1], 0) + weight
                    if sub[1] not in order:
                        order.append(sub[1])
        if match is None:
            continue
        n, code, name = match
        amb = gaz.ambiguous.get(name)
        if code and (amb is None or _ambiguous_ok(amb, words, i, n, context)):
            scores[code] = scores.get(code, 0) + weight
            if code not in order:
                order.append(code)
        free = i + n


def find_places(
    text: str, language: str | None, *, title: str = "", tokens: Tokens | None = None
) -> list[str]:
    """ISO 3166-1 alpha-2 codes of the countries mentioned, most salient first, no repeats.

    Salience is the number of mentions (country names, demonyms, major cities), a title
    mention counting ``TITLE_WEIGHT`` times; ties keep the order of first mention. English
    and Russian names are recognised whatever ``language`` says (it is accepted for the
    interface and future languages); other scripts simply find nothing. ``tokens`` are the
    text's shared tokens, when the caller has them (the text is then not tokenised again).
    """
    del language  # names are matched by script, so the declared language is not needed
    if not (text.strip() or title.strip()):
        return []
    gaz = _gazetteer()
    body = text[:MAX_TEXT_CHARS]
    if tokens is None or len(text) > MAX_TEXT_CHARS or tokens.text != text:
        tokens = Tokens(body)  # a huge text is read only up to the cap, cut where the cap falls
    context = f"{title}\n{body}"
    scores: dict[str, int] = {}
    order: list[str] = []
    _count(gaz, _Words.of(Tokens(title)), TITLE_WEIGHT, context, scores, order)
    _count(gaz, _Words.of(tokens), 1, context, scores, order)
    return sorted(scores, key=lambda code: (-scores[code], order.index(code)))
