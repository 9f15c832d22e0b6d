# ruff: noqa: RUF001, SIM905  (Cyrillic is meant; word lists read best as one string)
"""Topic tagging: a hand-written, stemmed keyword lexicon over IPTC Media Topics.

Pure and deterministic: no I/O beyond reading the shipped data files once, no model, no
network. English and Russian are tagged; any other language (Kyrgyz, Kazakh, German, ...)
yields no topic rather than a wrong one.

How a text is scored (docs/tagging.md has the figures):

1. Title and body are tokenised, lower-cased and stemmed (Snowball) for the language.
2. Lexicon terms (data/topic_lexicon.yaml), stemmed the same way, are matched longest phrase
   first; a matched phrase consumes its words, so "Labour Party" never counts for labour.
3. Each matched term adds ``weight * log2(1 + hits)`` to its topic, where a title hit counts
   ``TITLE_WEIGHT`` times. A lower-level topic also adds its raw score to its parents.
4. Topics whose raw score clears ``MIN_RAW`` and ``RELATIVE`` times the best one are kept,
   best first; the score shown is ``raw / (raw + SCORE_HALF)`` in [0, 1).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import snowballstemmer
import yaml

from shared.document import Topic

TAGGER_NAME = "newsflow-lexicon"
TAGGER_VERSION = "1.4.0"  # bump whenever topic_lexicon.yaml or the scoring changes

SUPPORTED_LANGUAGES = ("en", "ru")

_DATA_DIR = resources.files("services.worker") / "data"  # package data

# A headline states the subject; body words are often incidental.
TITLE_WEIGHT = 3.0
# Raw score a topic needs before it is returned at all: one strong (weight 3) term in the
# body is enough, a lone weak word is not. Chosen on our own short test texts and checked on
# the dev sets (docs/tagging.md): every full article gets a topic, and on headline plus first
# paragraph 96% do, with 86% of those right (at 2.0: 98% and 86%; headline only: 72%/75%).
MIN_RAW = 3.0
# A second or third topic must reach this share of the best topic's raw score.
RELATIVE = 0.4
# A lower-level topic must reach this share of its top-level parent's raw score.
CHILD_RELATIVE = 0.25
# Raw score that maps to a displayed score of 0.5.
SCORE_HALF = 10.0
# Only the first this-many characters of the body are read: the topic is stated early, and
# it bounds the time on a huge page (about 15 ms at the cap, one core).
MAX_BODY_CHARS = 20_000
# At most this many evidence terms per topic.
MAX_EVIDENCE = 5
# Longest phrase in the lexicon, in words (checked when the lexicon loads).
_MAX_PHRASE = 6

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END_RE = re.compile(r"[.!?…:;\"«»“”]\s*$")

_STEMMER_NAMES = {"en": "english", "ru": "russian"}

# Letters of Kazakh and Kyrgyz Cyrillic that Russian does not use.
_TURKIC_CYRILLIC = frozenset("әғқңөұүһіӊ")
_RU_STOPWORDS = frozenset(
    "и в во не что он на я с со как а то все она так его но да к у же вы за бы по только ее "
    "мне было вот от меня еще нет о из ему когда даже ли если уже или ни быть был него до "
    "вас там потом себя ей может они тут где есть надо ней для мы их чем была сам без чего "
    "тоже себе под будет тогда кто этот того потому этого какой этом почти тем чтобы при "
    "после над больше тот через эти нас про всего них какая много также который которые "
    "была были это года году также является".split()
)
_EN_STOPWORDS = frozenset(
    "the of and to in a is that for on with as was by at from it be are has have had said "
    "will its an this which were been their they he she his her but not who would after "
    "also more than about there when we or".split()
)
_STOPWORDS = {"en": _EN_STOPWORDS, "ru": _RU_STOPWORDS}

# Capitalised "Labour" in English is the UK party unless a labour-market word follows it.
_LABOUR_PARTY_STEM = "\x00labour-party"
_LABOUR_TOPIC_NEXT = frozenset(
    "market markets force law laws code costs cost shortage shortages migration migrants "
    "ministry minister ministers department office organisation organization inspection "
    "union unions day rights dispute disputes relations inspectorate exchange camp camps".split()
)
_POLITICS = "medtop:11000000"


@dataclass(frozen=True)
class _TopicInfo:
    code: str
    label: str
    parents: tuple[str, ...]  # roll-up chain, nearest first


@dataclass(frozen=True)
class _Lexicon:
    topics: dict[str, _TopicInfo]
    # language -> stemmed phrase -> [(topic code, weight, term as written)]
    terms: dict[str, dict[tuple[str, ...], list[tuple[str, float, str]]]]
    max_phrase: int


def detect_language(text: str) -> str | None:
    """Cheap guess: "en", "ru", or None for anything else (including Kyrgyz and Kazakh)."""
    guess = _guess_language(text)
    return guess if guess in SUPPORTED_LANGUAGES else None


def _guess_language(text: str) -> str:
    """ "en", "ru", "other" (a language we do not tag) or "unknown" (too little text)."""
    cyrillic = latin = turkic = 0
    for ch in text[:5000]:
        low = ch.lower()
        if "\u0430" <= low <= "\u044f" or low == "\u0451":  # Russian a..ya, yo
            cyrillic += 1
        elif low in _TURKIC_CYRILLIC:
            cyrillic += 1
            turkic += 1
        elif "a" <= low <= "z":
            latin += 1
    if cyrillic + latin < 3:
        return "unknown"
    words = [w.lower() for w in _WORD_RE.findall(text[:5000])]
    if cyrillic > latin:
        if turkic / cyrillic > 0.004:
            return "other"
        stop = sum(w in _RU_STOPWORDS for w in words)
        if len(words) < 12:
            return "ru" if stop else "unknown"
        return "ru" if stop / len(words) >= 0.05 else "other"
    stop = sum(w in _EN_STOPWORDS for w in words)
    if len(words) < 12:
        return "en" if stop else "unknown"
    return "en" if stop / len(words) >= 0.08 else "other"


def _normalise_language(language: str | None, title: str, text: str) -> str | None:
    guess = _guess_language(f"{title}\n{text}")
    if language is None:
        # A short text without stopwords ("Putin meets Assad") goes by its script.
        if guess == "unknown":
            script = "ru" if _script_matches("ru", f"{title} {text}") else "en"
            return script if _script_matches(script, f"{title} {text}") else None
        return guess if guess in SUPPORTED_LANGUAGES else None
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    if primary not in SUPPORTED_LANGUAGES:
        return None
    # A declared language the text plainly contradicts (Kyrgyz labelled "ru") is not trusted.
    if guess not in (primary, "unknown") or not _script_matches(primary, f"{title} {text}"):
        return None
    return primary


def _script_matches(language: str, text: str) -> bool:
    cyrillic = sum(1 for ch in text[:2000] if "\u0400" <= ch <= "\u04ff")
    latin = sum(1 for ch in text[:2000] if ch.isascii() and ch.isalpha())
    return cyrillic >= latin if language == "ru" else latin >= cyrillic


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(_STEMMER_NAMES[language])


@lru_cache(maxsize=200_000)
def _stem(language: str, word: str) -> str:
    word = word.lower().replace("ё", "е")
    return str(_stemmer(language).stemWord(word))


def _tokens(language: str, text: str) -> list[str]:
    """Stems of the words of ``text``, with capitalised English "Labour" read as the party."""
    stems: list[str] = []
    matches = list(_WORD_RE.finditer(text))
    for i, m in enumerate(matches):
        word = m.group()
        if language == "en" and word == "Labour":
            nxt = matches[i + 1].group().lower() if i + 1 < len(matches) else ""
            prev = matches[i - 1].group().lower() if i > 0 else ""
            # "Ministry of Labour", "International Labour Organization" are the topic.
            if nxt not in _LABOUR_TOPIC_NEXT and prev not in ("of", "international"):
                stems.append(_LABOUR_PARTY_STEM)
                continue
        stems.append(_stem(language, word))
    return stems


@cache
def _lexicon() -> _Lexicon:
    scheme = json.loads((_DATA_DIR / "iptc_topics.json").read_text(encoding="utf-8"))
    parent_of = {t["code"]: t["parent"] for t in scheme["topics"]}
    topics: dict[str, _TopicInfo] = {}
    for t in scheme["topics"]:
        chain: list[str] = []
        p = t["parent"]
        while p:
            chain.append(p)
            p = parent_of[p]
        topics[t["code"]] = _TopicInfo(t["code"], t["label"], tuple(chain))

    raw = yaml.safe_load((_DATA_DIR / "topic_lexicon.yaml").read_text(encoding="utf-8"))
    terms: dict[str, dict[tuple[str, ...], list[tuple[str, float, str]]]] = {
        lang: defaultdict(list) for lang in SUPPORTED_LANGUAGES
    }
    max_phrase = 1
    for code, entry in raw.items():
        if code != "_blockers" and code not in topics:
            raise ValueError(f"topic_lexicon.yaml: unknown topic {code}")
        for lang in SUPPORTED_LANGUAGES:
            for weight, words in (entry.get(lang) or {}).items():
                for term in words:
                    key = tuple(_tokens(lang, str(term).lower()))
                    if len(key) == 1 and (len(key[0]) < 2 or key[0] in _STOPWORDS[lang]):
                        # "заем" stems to the preposition "за": it would fire everywhere.
                        raise ValueError(f"topic_lexicon.yaml: {term!r} stems to a stopword")
                    if not key:
                        continue
                    max_phrase = max(max_phrase, len(key))
                    bucket = terms[lang][key]
                    if code == "_blockers":
                        bucket.append(("", 0.0, str(term)))
                    elif all(c != code for c, _, _ in bucket):
                        bucket.append((code, float(weight), str(term)))
    terms["en"][(_LABOUR_PARTY_STEM,)] = [(_POLITICS, 3.0, "Labour (party)")]
    if max_phrase > _MAX_PHRASE:
        raise ValueError(f"topic_lexicon.yaml: phrase longer than {_MAX_PHRASE} words")
    return _Lexicon(topics, {k: dict(v) for k, v in terms.items()}, max_phrase)


def _count_hits(
    lex: _Lexicon, language: str, stems: list[str], weight: float, hits: dict[str, float]
) -> None:
    """Greedy longest-phrase matching; adds ``weight`` per hit to ``hits[term]``."""
    table = lex.terms[language]
    i, n = 0, len(stems)
    while i < n:
        for size in range(min(lex.max_phrase, n - i), 0, -1):
            key = tuple(stems[i : i + size])
            if key in table:
                hits[" ".join(key)] = hits.get(" ".join(key), 0.0) + weight
                i += size
                break
        else:
            i += 1


def _raw_scores(
    lex: _Lexicon, language: str, title: str, text: str
) -> tuple[dict[str, float], dict[str, float], dict[str, list[tuple[float, str]]]]:
    hits: dict[str, float] = {}
    _count_hits(lex, language, _tokens(language, title), TITLE_WEIGHT, hits)
    _count_hits(lex, language, _tokens(language, text[:MAX_BODY_CHARS]), 1.0, hits)
    table = lex.terms[language]
    own: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for joined, count in hits.items():
        for code, w, term in table[tuple(joined.split(" "))]:
            if not code or w <= 0:
                continue
            contribution = w * math.log2(1.0 + count)
            own[code] += contribution
            evidence[code].append((contribution, term))
    total: dict[str, float] = defaultdict(float)
    for code, value in own.items():
        total[code] += value
        for parent in lex.topics[code].parents:
            total[parent] += value
            evidence[parent].extend(evidence[code])
    return dict(own), dict(total), evidence


def _evidence(items: list[tuple[float, str]]) -> list[str]:
    best: dict[str, float] = {}
    for contribution, term in items:
        best[term] = max(best.get(term, 0.0), contribution)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return [term for term, _ in ranked[:MAX_EVIDENCE]]


def tag_topics(title: str, text: str, language: str | None, max_topics: int = 3) -> list[Topic]:
    """The best 0..``max_topics`` IPTC topics for an article, each with score and evidence.

    ``language`` is a BCP 47 tag or None (then guessed from the text). Unsupported or
    unrecognised languages, empty text and texts with too little evidence give ``[]``.
    Lower-level topics (e.g. diplomacy) may follow their parent (politics) in the list.
    """
    if max_topics <= 0 or not (title.strip() or text.strip()):
        return []
    lang = _normalise_language(language, title, text)
    if lang is None:
        return []
    lex = _lexicon()
    own, total, evidence = _raw_scores(lex, lang, title, text)
    ranked = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked or ranked[0][1] < MIN_RAW:
        return []
    floor = max(MIN_RAW, RELATIVE * ranked[0][1])
    chosen: list[str] = []
    for code, value in ranked:
        info = lex.topics[code]
        if info.parents:
            # A lower-level topic only follows its chosen top-level parent, and needs enough
            # evidence of its own compared with that parent.
            top_level = info.parents[-1]
            if (
                top_level not in chosen
                or own.get(code, 0.0) < MIN_RAW
                or value < CHILD_RELATIVE * total[top_level]
            ):
                continue
        elif value < floor:
            continue
        chosen.append(code)
        if len(chosen) == max_topics:
            break
    return [
        Topic(
            code=code,
            label=lex.topics[code].label,
            score=round(total[code] / (total[code] + SCORE_HALF), 3),
            evidence=_evidence(evidence[code]),
        )
        for code in chosen
    ]
