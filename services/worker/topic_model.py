"""The learned topic model: a static multilingual token-embedding table and a linear head.

Pure and deterministic; numpy at run time, nothing else (no PyTorch, no tokenizer library).
``scripts/build_topic_model.py`` (``make model``) builds ``data/topic_model/model.npz``;
``data/topic_model/MODEL_CARD.md`` says on what, how, and how well.

How an article is scored:

1. Title and the first ``MAX_BODY_CHARS`` of the body are cut into words, and each word
   into SentencePiece pieces of multilingual-e5-small's vocabulary (pruned to Latin and
   Cyrillic pieces), the title counting ``TITLE_WEIGHT`` times; since 2.4.0 a word the
   model knows whole (a word the vocabulary splits, such as "shares" or "inflation", from
   frequency lists and the training text) is one item of its own instead of its pieces;
   since 2.6.0, in Kazakh and Kyrgyz, so is an inflected form of one ("шайлоодо", in the
   election: services.worker.inflection).
2. The document vector is the weighted mean of the items' vectors. Each item's vector is
   the teacher's (multilingual-e5-small's) embedding of that piece or word alone, reduced
   by PCA; its weight falls with its frequency (``a / (a + p)``), so "the" and "и" count
   little, and, since 2.2.0, with how little it says about any topic on its own: a first
   linear head (``attn_w``, fitted on plain weighted means) scores each item alone, and
   the item's weight is multiplied by its best topic probability (softmax at temperature
   ``ATTENTION_TEMPERATURE``). "match" or "shares" then outweigh "said" or "Tuesday",
   which matters most for short items.
3. The mean vector of the article's language is subtracted (per-language centring: without
   it, what separates languages swamps what separates topics, and a head fitted mostly on
   English does not carry over to Kyrgyz), and the vector is L2-normalised.
4. A softmax head over the 17 IPTC top-level topics gives probabilities; the best topic is
   always kept, a second or third if its probability is at least ``RELATIVE`` of the best.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from services.worker.inflection import PEELING_LANGUAGES, stems
from shared.document import Topic

TAGGER_NAME = "newsflow-static-e5"
TAGGER_VERSION = "2.6.0"  # bump whenever model.npz or the scoring changes

# Package data; a real directory (the build script writes here, np.load reads a path).
MODEL_DIR = Path(str(resources.files("services.worker") / "data" / "topic_model"))
MODEL_PATH = MODEL_DIR / "model.npz"

# Only the first this-many characters of the body are read: it bounds the time on a huge
# page. 2.3.0 reads 5,000 (2.2.0: 2,000): most articles whole, +0.8 points on BBC dev for
# about 0.05 ms (docs/tagging.md); dev was flat from 3,000 to 8,000.
MAX_BODY_CHARS = 5_000
# A headline states the subject: its pieces count this many times.
TITLE_WEIGHT = 1.0
# A second or third topic must reach this share of the best topic's probability.
RELATIVE = 0.5
# At most this many evidence pieces per topic.
MAX_EVIDENCE = 5
# Words whose segmentation is remembered (news repeats its words).
WORD_CACHE = 50_000
# Temperature of the per-piece topic probabilities that weight the pieces (attention).
ATTENTION_TEMPERATURE = 2.0
# The language whose mean vector is used for a language the model has no mean for.
_GLOBAL = "*"


@dataclass(frozen=True)
class TopicModel:
    tokenizer: PieceTokenizer
    names: tuple[str, ...]  # (V,): the SentencePiece pieces, then the whole words
    vectors_q: np.ndarray  # (V, D) int8: a piece's vector is vectors_q[i] * row_scale[i]
    row_scale: np.ndarray  # (V,) float32: quantisation scale times the piece's weight
    weights: np.ndarray  # (V,) float32, 0 for pieces that carry no meaning (unk, "▁")
    means: dict[str, np.ndarray]  # language -> (D,) mean document vector
    head_w: np.ndarray  # (D, C)
    head_b: np.ndarray  # (C,)
    attn_w: np.ndarray  # (D, C): scores each piece alone, to weight the pieces
    attn_b: np.ndarray  # (C,)
    codes: tuple[str, ...]
    labels: tuple[str, ...]
    sha256: str

    def document_vector(self, title: str, text: str, language: str | None) -> np.ndarray | None:
        ids, counts = self._piece_counts(title, text, language)
        if ids.size == 0:
            return None
        return self._vector(ids, counts, language)

    def _piece_counts(self, title: str, text: str, language: str | None) -> tuple[np.ndarray, np.ndarray]:
        title_ids = self.tokenizer.encode(title, language) if title else []
        body_ids = self.tokenizer.encode(text[:MAX_BODY_CHARS], language) if text else []
        all_ids = np.asarray(title_ids + body_ids, dtype=np.int64)
        if all_ids.size == 0:
            return all_ids, np.zeros(0, dtype=np.float32)
        mult = np.ones(all_ids.size, dtype=np.float32)
        mult[: len(title_ids)] = TITLE_WEIGHT
        ids, inverse = np.unique(all_ids, return_inverse=True)
        counts = np.bincount(inverse, weights=mult).astype(np.float32)
        keep = self.weights[ids] > 0
        return ids[keep], counts[keep]

    def _vector(self, ids: np.ndarray, counts: np.ndarray, language: str | None) -> np.ndarray | None:
        vec, _ = self._pooled(ids, counts, language)
        return vec

    def _pooled(
        self, ids: np.ndarray, counts: np.ndarray, language: str | None
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """The document vector and each piece's weight in it (count x SIF x attention)."""
        scale = self.row_scale[ids] / np.maximum(self.weights[ids], 1e-12)
        rows = self.vectors_q[ids].astype(np.float32) * scale[:, None]
        mean = self.means.get(language or _GLOBAL, self.means[_GLOBAL])
        share = counts * self.weights[ids]
        vec, share = pooled_vector(rows, share, mean, self.attn_w, self.attn_b)
        return vec, share

    def probabilities(self, title: str, text: str, language: str | None) -> np.ndarray | None:
        vec = self.document_vector(title, text, language)
        if vec is None:
            return None
        return _softmax(vec @ self.head_w + self.head_b)

    def tag(self, title: str, text: str, language: str | None, max_topics: int = 3) -> list[Topic]:
        if max_topics <= 0:
            return []
        ids, counts = self._piece_counts(title, text, language)
        if ids.size == 0:
            return []
        vec, share = self._pooled(ids, counts, language)
        if vec is None:
            return []
        probs = _softmax(vec @ self.head_w + self.head_b)
        order = np.argsort(-probs, kind="stable")
        best = float(probs[order[0]])
        chosen = [int(c) for c in order[:max_topics] if float(probs[c]) >= RELATIVE * best]
        # Evidence: the pieces that pushed hardest towards the topic.
        scale = self.row_scale[ids] / np.maximum(self.weights[ids], 1e-12)
        rows = self.vectors_q[ids].astype(np.float32) * (share * scale)[:, None]
        pushes = rows @ self.head_w[:, chosen]
        topics = []
        for k, c in enumerate(chosen):
            top = np.argsort(-pushes[:, k], kind="stable")[:MAX_EVIDENCE]
            evidence = [self.names[ids[i]].replace("\u2581", "").strip() for i in top if pushes[i, k] > 0]
            topics.append(
                Topic(
                    code=self.codes[c],
                    label=self.labels[c],
                    score=round(float(probs[c]), 3),
                    evidence=[e for e in evidence if e],
                )
            )
        return topics


def pooled_vector(
    rows: np.ndarray,
    share: np.ndarray,
    mean: np.ndarray,
    attn_w: np.ndarray | None,
    attn_b: np.ndarray | None,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Weighted mean of piece vectors minus the language mean, L2-normalised.

    ``rows`` (n, D) are the pieces' vectors, ``share`` (n,) their weights (count x SIF).
    With an attention head, each piece's weight is multiplied by its best topic probability
    when scored alone (centred, normalised, softmax at ``ATTENTION_TEMPERATURE``). Returns
    the vector (None if nothing weighs) and the final weights. Shared with the build script.
    """
    if attn_w is not None and attn_b is not None and rows.shape[0]:
        centred = rows - mean
        centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)
        z = (centred @ attn_w + attn_b) / ATTENTION_TEMPERATURE
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        share = share * (1.0 / p.sum(axis=1))  # the best probability: exp(0) / sum
    total = float(share.sum())
    if total <= 0:
        return None, share
    vec = (share @ rows) / total - mean
    norm = float(np.linalg.norm(vec))
    return (vec / norm if norm > 0 else None), share


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return np.asarray(e / e.sum())


class PieceTokenizer:
    """SentencePiece-Unigram segmentation (best sum of piece log-probabilities per word).

    SentencePiece's Unigram algorithm (NFKC, split on whitespace, each word led by the
    metaspace "▁") in plain Python: a dict of the pieces costs about 15 MB where the
    ``tokenizers`` package's Unigram model took about 100 MB, and news repeats its words,
    so a per-word cache makes it fast (about 0.4 ms per article warm, 6 ms cold).

    ``words`` maps whole words (lower case) to ids of their own: a word whose letters are
    one of them becomes that id, and the punctuation around it is dropped (it weighs
    next to nothing as pieces). The teacher embedding a whole word says more than the mean
    of its pieces ("▁infl" + "ation").
    """

    def __init__(
        self, pieces: list[str], scores: list[float], unk_id: int, words: Mapping[str, int] | None = None
    ) -> None:
        self._ids = {p: i for i, p in enumerate(pieces) if i != unk_id}
        self._scores = scores
        self._unk = unk_id
        self._unk_score = min(scores) - 10.0
        self._max_len = max(len(p) for p in pieces)
        self._words = dict(words or {})
        self._word = lru_cache(maxsize=WORD_CACHE)(self._segment)

    def encode(self, text: str, language: str | None = None) -> list[int]:
        """The ids of ``text``; in a language of ``PEELING_LANGUAGES`` an inflected form of a
        word known whole is that word (services.worker.inflection)."""
        peel = language in PEELING_LANGUAGES
        ids: list[int] = []
        for word in unicodedata.normalize("NFKC", text).split():
            ids.extend(self._word(word, peel))
        return ids

    def _segment(self, word: str, peel: bool) -> tuple[int, ...]:
        if self._words:
            core = _WORD_CORE.match(word)
            key = core[1].lower() if core else ""
            wid = self._words.get(key)
            if wid is None and peel and key:
                wid = next((self._words[s] for s in stems(key) if s in self._words), None)
            if wid is not None:
                return (wid,)
        return self._pieces(word)

    def _pieces(self, word: str) -> tuple[int, ...]:
        word = "\u2581" + word
        n = len(word)
        neg = -math.inf
        best = [0.0] + [neg] * n
        back = [0] * (n + 1)
        piece = [0] * (n + 1)
        ids, scores, max_len = self._ids, self._scores, self._max_len
        for i in range(n):
            here = best[i]
            if here == neg:
                continue
            for j in range(i + 1, min(n, i + max_len) + 1):
                pid = ids.get(word[i:j])
                if pid is not None:
                    score = here + scores[pid]
                    if score > best[j]:
                        best[j], back[j], piece[j] = score, i, pid
            score = here + self._unk_score
            if score > best[i + 1]:
                best[i + 1], back[i + 1], piece[i + 1] = score, i, self._unk
        out: list[int] = []
        j = n
        while j > 0:
            out.append(piece[j])
            j = back[j]
        return tuple(reversed(out))


# A word's letters without the punctuation around it ("(inflation)," -> "inflation").
_WORD_CORE = re.compile(r"^\W*(.*?)\W*$")


def build_tokenizer(
    pieces: list[str], scores: list[float], unk_id: int, words: list[str] | None = None
) -> PieceTokenizer:
    """The tokenizer of a table holding ``pieces`` (ids 0..) and then ``words``."""
    word_ids = {w: len(pieces) + i for i, w in enumerate(words or [])}
    return PieceTokenizer(pieces, scores, unk_id, word_ids)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_model(path: Path = MODEL_PATH) -> TopicModel:
    """Read a model file written by scripts/build_topic_model.py."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        pieces = z["pieces"]
        words = z["words"] if "words" in z.files else np.array([], dtype=str)
        scores = z["scores"].astype(np.float64)
        q = z["vectors_q"]
        scale = z["vectors_scale"].astype(np.float32)
        weights = z["weights"].astype(np.float32)
        mean_vectors = z["means"].astype(np.float32)
        head_w = z["head_w"].astype(np.float32)
        head_b = z["head_b"].astype(np.float32)
        attn_w = z["attn_w"].astype(np.float32)
        attn_b = z["attn_b"].astype(np.float32)
    means = {lang: mean_vectors[i] for i, lang in enumerate(meta["mean_languages"])}
    # Python strings, shared by the tokenizer's dicts and the names (numpy's fixed-width
    # strings took 18 MB for the names alone).
    piece_names = [str(p) for p in pieces]
    word_names = [str(w) for w in words]
    del pieces, words
    tokenizer = build_tokenizer(
        piece_names, [float(s) for s in scores[: len(piece_names)]], int(meta["unk_id"]), word_names
    )
    return TopicModel(
        tokenizer=tokenizer,
        names=(*piece_names, *word_names),
        vectors_q=q,
        row_scale=scale * weights,
        weights=weights,
        means=means,
        head_w=head_w,
        head_b=head_b,
        attn_w=attn_w,
        attn_b=attn_b,
        codes=tuple(meta["codes"]),
        labels=tuple(meta["labels"]),
        sha256=file_sha256(path),
    )


@cache
def _model() -> TopicModel:
    return load_model()


def tag_topics(title: str, text: str, language: str | None, max_topics: int = 3) -> list[Topic]:
    """The best 1..``max_topics`` IPTC top-level topics for an article, each with a score.

    ``language`` is the article's ISO 639-1 code (services.worker.language), used to pick
    the per-language mean; any language is tagged (one without its own mean uses the
    average of the others). Empty text gives ``[]``.
    """
    if not (title.strip() or text.strip()):
        return []
    return _model().tag(title, text, language, max_topics)
