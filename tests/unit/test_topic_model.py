"""The learned topic model: our own short Kazakh, Kyrgyz, Russian and English articles."""

from __future__ import annotations

import pytest

from services.worker import topic_model
from services.worker.language import identify_language
from services.worker.topic_model import MODEL_PATH, TAGGER_NAME, TAGGER_VERSION, file_sha256, tag_topics
from tests.region_articles import ARTICLES


@pytest.mark.parametrize(("language", "expected", "title", "body"), ARTICLES, ids=lambda v: str(v)[:24])
def test_fixture_articles_get_the_right_top_topic(
    language: str, expected: str, title: str, body: str
) -> None:
    assert identify_language(title, body).language == language
    found = tag_topics(title, body, language)
    assert found, "every article with text gets a topic"
    assert found[0].code == expected, [(t.label, t.score) for t in found]


def test_scheme_scores_and_evidence() -> None:
    title, body = ARTICLES[0][2], ARTICLES[0][3]
    found = tag_topics(title, body, "ky", max_topics=3)
    assert 1 <= len(found) <= 3
    assert [t.score for t in found] == sorted((t.score for t in found), reverse=True)
    assert all(0.0 < t.score <= 1.0 and t.code.startswith("medtop:") and t.label for t in found)
    assert found[0].evidence and all(isinstance(e, str) and e for e in found[0].evidence)


def test_deterministic_and_language_optional() -> None:
    title, body = ARTICLES[5][2], ARTICLES[5][3]
    assert tag_topics(title, body, "kk") == tag_topics(title, body, "kk")
    # A language without its own mean (or none) still gets a topic.
    assert tag_topics(title, body, None)
    assert tag_topics(title, body, "de")


def test_empty_text_gets_nothing() -> None:
    assert tag_topics("", "  ", "en") == []
    assert tag_topics("Title", "body", "en", max_topics=0) == []


def test_model_file_matches_its_checksum() -> None:
    recorded = (MODEL_PATH.parent / "model.npz.sha256").read_text(encoding="utf-8").split()[0]
    assert file_sha256(MODEL_PATH) == recorded
    assert topic_model.load_model().sha256 == recorded
    assert TAGGER_NAME and TAGGER_VERSION


def test_attention_weights_topical_pieces_above_generic_ones() -> None:
    import numpy as np

    model = topic_model.load_model()
    ids, counts = model._piece_counts("", "football said", None)
    vec, share = model._pooled(ids, counts, "en")
    assert vec is not None and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
    # Each piece keeps its SIF weight times its best topic probability (between 1/C and 1).
    sif = counts * model.weights[ids]
    ratio = share / sif
    assert np.all(ratio > 1.0 / len(model.codes) - 1e-6) and np.all(ratio <= 1.0 + 1e-6)
    # Without the attention head the vector is the plain weighted mean.
    rows = model.vectors_q[ids].astype(np.float32) * (model.row_scale[ids] / model.weights[ids])[:, None]
    plain, same = topic_model.pooled_vector(rows, sif, model.means["en"], None, None)
    assert plain is not None and np.array_equal(same, sif)


def test_a_known_whole_word_is_one_item_and_others_are_pieces() -> None:
    # A toy vocabulary: "▁infl" + "ation" would be the pieces of "inflation".
    pieces = ["<unk>", "\u2581infl", "ation", "\u2581rate", "s", ","]
    tok = topic_model.build_tokenizer(pieces, [0.0, -5.0, -4.0, -3.0, -2.0, -1.0], 0, ["inflation"])
    word_id = len(pieces)
    # Case and the punctuation around the word do not matter: the word's own row is used.
    assert tok.encode("Inflation, (inflation) INFLATION") == [word_id, word_id, word_id]
    # A word the table lacks is cut into pieces as before.
    assert tok.encode("rates,") == [3, 4, 5]
    assert tok.encode("inflations") == [1, 2, 4]
    # Without words the same text is pieces only.
    plain = topic_model.build_tokenizer(pieces, [0.0, -5.0, -4.0, -3.0, -2.0, -1.0], 0)
    assert plain.encode("inflation") == [1, 2]


def test_kazakh_and_kyrgyz_inflected_forms_reach_the_whole_word() -> None:
    # A toy vocabulary that knows "шайлоо" (election) whole; "▁шай" + "лоо" are its pieces.
    pieces = ["<unk>", "\u2581шай", "лоо", "до", "го"]  # noqa: RUF001 (Cyrillic)
    scores = [0.0, -5.0, -4.0, -3.0, -3.0]
    tok = topic_model.build_tokenizer(pieces, scores, 0, ["шайлоо"])
    word_id = len(pieces)
    # Kyrgyz "in the election", "to the election": the word's own row.
    assert tok.encode("Шайлоодо шайлоого", "ky") == [word_id, word_id]
    assert tok.encode("шайлоодо", "kk") == [word_id]
    # Other languages are not peeled (Turkic suffixes are not theirs): pieces as before.
    assert tok.encode("шайлоодо", "ru") == [1, 2, 3]
    assert tok.encode("шайлоодо") == [1, 2, 3]


def test_the_shipped_model_knows_split_news_words_whole() -> None:
    model = topic_model.load_model()
    n_rows = model.vectors_q.shape[0]
    assert len(model.names) == n_rows == model.weights.shape[0]
    ids = model.tokenizer.encode("Shareholders fear inflation.")
    # Two words the vocabulary splits, each one row of its own; "fear" is one piece anyway.
    assert len(ids) == 3 and all(i < n_rows for i in ids)
    assert model.names[ids[0]] == "shareholders" and model.names[ids[2]] == "inflation"
    assert model.weights[ids[0]] > 0 and model.weights[ids[2]] > 0
