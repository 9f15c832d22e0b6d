# ruff: noqa: RUF001  (Cyrillic is meant)
"""The learned topic model: our own short Kazakh, Kyrgyz, Russian and English articles."""

from __future__ import annotations

import pytest

from services.worker import topic_model
from services.worker.language import identify_language
from services.worker.topic_model import MODEL_PATH, TAGGER_NAME, TAGGER_VERSION, file_sha256, tag_topics

SPORT = "medtop:15000000"
POLITICS = "medtop:11000000"
HEALTH = "medtop:07000000"
ECONOMY = "medtop:04000000"
CRIME = "medtop:02000000"

ARTICLES = [
    (
        "ky",
        SPORT,
        "Кыргызстандын футбол курамасы тандоо оюнунда жеңишке жетти",
        "Бишкектеги стадиондо өткөн беттеште биздин оюнчулар каршылашын 2:0 эсебинде утушту. "
        "Экинчи голду жарым коргоочу киргизди. Машыктыруучу оюнчулардын аракетине ыраазы "
        "экенин айтты, курама кийинки оюнга даярдыкты баштады.",
    ),
    (
        "ky",
        POLITICS,
        "Жогорку Кеңеш шайлоо жөнүндө мыйзамга өзгөртүүлөрдү кабыл алды",
        "Депутаттар парламенттик шайлоонун эрежелерин өзгөртүүнү колдоп добуш беришти. "
        "Президент мыйзамга кол койгондон кийин, кийинки шайлоо жаңы тартипте өтөт. "
        "Оппозициялык партиялар өзгөртүүлөрдү сынга алышты.",
    ),
    (
        "ky",
        HEALTH,
        "Тумоо менен ооругандардын саны өстү",
        "Саламаттык сактоо министрлиги ооругандардын саны өскөнүн билдирди. Дарыгерлер "
        "балдарды эмдөөгө жана ооруканага өз убагында кайрылууга чакырышты. Бейтапканаларда "
        "кошумча төшөктөр даярдалды.",
    ),
    (
        "ky",
        ECONOMY,
        "Улуттук банк эсептик ченди төмөндөттү",
        "Улуттук банк эсептик ченди 9 пайызга чейин төмөндөттү. Инфляция акырындап, сомдун "
        "долларга карата курсу бекемделди. Экономисттердин айтымында, насыялар арзандап, "
        "ишкерлер менен банктар үчүн жеңилдик болот.",
    ),
    (
        "ky",
        CRIME,
        "Бишкекте уурулук кылган топ кармалды",
        "Ички иштер министрлигинин милиционерлери уурулук кылган топту кармашты. Шектүүлөр "
        "соттун чечими менен камакка алынды. Кылмыш иши козголуп, тергөө улантылууда.",
    ),
    (
        "kk",
        SPORT,
        "Қазақстан құрамасы іріктеу ойынында жеңіске жетті",
        "Астанадағы стадионда өткен ойында біздің футболшылар қарсыласын 3:1 есебімен ұтты. "
        "Бас бапкер ойыншылардың шеберлігін жоғары бағалап, команда келесі матчқа "
        "дайындалатынын айтты.",
    ),
    (
        "kk",
        POLITICS,
        "Мәжіліс сайлау туралы заңға өзгерістерді мақұлдады",
        "Депутаттар парламенттік сайлау ережелерін өзгертуді қолдап дауыс берді. Президент "
        "заңға қол қойғаннан кейін келесі сайлау жаңа тәртіппен өтеді. Оппозициялық "
        "партиялар өзгерістерді сынға алды.",
    ),
    (
        "kk",
        HEALTH,
        "Тұмаумен ауыратындардың саны артты",
        "Денсаулық сақтау министрлігі ауыратындардың саны артқанын хабарлады. Дәрігерлер "
        "балаларды вакцинациялауға және ауруханаға уақытылы жүгінуге шақырды. Емханаларда "
        "қосымша төсек-орындар дайындалды.",
    ),
    (
        "kk",
        ECONOMY,
        "Ұлттық банк базалық мөлшерлемені төмендетті",
        "Ұлттық банк базалық мөлшерлемені 14 пайызға дейін төмендетті. Инфляция баяулап, "
        "теңгенің долларға қатысты бағамы нығайды. Экономистердің пікірінше, несиелер "
        "арзандап, кәсіпкерлер мен банктерге жеңілдік болады.",
    ),
    (
        "kk",
        CRIME,
        "Алматыда ұрлықпен айналысқан топ ұсталды",
        "Полиция қызметкерлері ұрлықпен айналысқан топты ұстады. Күдіктілер сот шешімімен "
        "қамауға алынды. Қылмыстық іс қозғалып, тергеу жалғасуда.",
    ),
    (
        "ru",
        SPORT,
        "Сборная Кыргызстана выиграла отборочный матч",
        "В Бишкеке футболисты обыграли соперника со счетом 2:0. Главный тренер похвалил "
        "игроков, команда начала подготовку к следующему туру чемпионата.",
    ),
    (
        "en",
        ECONOMY,
        "Central bank cuts its key interest rate",
        "The national bank lowered its key rate to 9 per cent as inflation slowed and the "
        "currency strengthened against the dollar. Economists expect cheaper loans for "
        "businesses and households.",
    ),
]


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
    ids, counts = model._piece_counts("", "football said")
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
