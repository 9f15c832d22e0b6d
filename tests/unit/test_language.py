# ruff: noqa: RUF001  (Cyrillic is meant)
"""Language from text: our own short news-like texts in seven languages, and lying markup."""

from __future__ import annotations

import pytest

from services.worker.language import FALLBACK, identify_language, normalise_language_tag

TEXTS = {
    "en": (
        "City council approves new budget for schools",
        "The city council voted on Tuesday to raise spending on primary schools by ten per "
        "cent next year, after parents complained about crowded classrooms and old buildings.",
    ),
    "ru": (
        "Городской совет утвердил новый бюджет для школ",
        "Во вторник депутаты проголосовали за то, чтобы в следующем году увеличить расходы на "
        "начальные школы на десять процентов, после жалоб родителей на переполненные классы.",
    ),
    "kk": (
        "Қалалық кеңес мектептерге арналған жаңа бюджетті бекітті",
        "Сейсенбі күні депутаттар келесі жылы бастауыш мектептерге бөлінетін қаржыны он "
        "пайызға көбейтуге дауыс берді. Ата-аналар сыныптардың толып кеткеніне шағымданған.",
    ),
    "ky": (
        "Шаардык кеңеш мектептер үчүн жаңы бюджетти бекитти",
        "Шейшемби күнү депутаттар кийинки жылы башталгыч мектептерге бөлүнүүчү каражатты он "
        "пайызга көбөйтүүгө добуш беришти. Ата-энелер класстардын толуп кеткенине нааразы.",
    ),
    "uz": (
        "Shahar kengashi maktablar uchun yangi byudjetni tasdiqladi",
        "Seshanba kuni deputatlar kelgusi yilda boshlang'ich maktablarga ajratiladigan "
        "mablag'ni o'n foizga oshirish uchun ovoz berishdi. Ota-onalar sinflar to'lib "
        "ketganidan shikoyat qilgan edi.",
    ),
    "tr": (
        "Belediye meclisi okullar için yeni bütçeyi onayladı",
        "Meclis üyeleri salı günü, velilerin kalabalık sınıflardan ve eski binalardan "
        "şikayet etmesinin ardından gelecek yıl ilkokullara yapılan harcamaları yüzde on "
        "artırmak için oy kullandı.",
    ),
    "de": (
        "Stadtrat beschließt neuen Haushalt für Schulen",
        "Der Stadtrat hat am Dienstag beschlossen, die Ausgaben für Grundschulen im nächsten "
        "Jahr um zehn Prozent zu erhöhen, nachdem Eltern sich über überfüllte Klassenzimmer "
        "beschwert hatten.",
    ),
}


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_text_decides_without_markup(language: str) -> None:
    title, body = TEXTS[language]
    assert identify_language(title, body).language == language


@pytest.mark.parametrize(
    ("language", "declared"),
    [
        ("ky", "ru"),  # a Kyrgyz page in a Russian-language site template
        ("kk", "ru-RU"),
        ("ru", "en"),
        ("en", "ru"),
        ("de", "en-US"),
        ("uz", "ru"),
        ("tr", "en"),
    ],
)
def test_text_overrules_lying_markup(language: str, declared: str) -> None:
    title, body = TEXTS[language]
    guess = identify_language(title, body, declared)
    assert guess.language == language
    assert guess.source in ("text", "letters")


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_truthful_markup_agrees(language: str) -> None:
    title, body = TEXTS[language]
    assert identify_language(title, body, language).language == language


def test_kazakh_and_kyrgyz_told_apart_by_their_letters() -> None:
    # Same sentence in both: only the letters differ in telling ways.
    kk = identify_language("", "Бүгін Алматыда қар жауып, көлік қозғалысы қиындады.")
    ky = identify_language("", "Бүгүн Бишкекте кар жаап, унаа кыймылы кыйындады.")
    assert (kk.language, ky.language) == ("kk", "ky")


def test_short_headline_keeps_plausible_markup() -> None:
    # Two words of Cyrillic: the declared Kyrgyz stands unless the text contradicts it.
    assert identify_language("Бишкек жаңылыктары", "", "ky").language == "ky"
    # A short Latin headline on a declared German page.
    assert identify_language("Ende gut", "", "de").language == "de"


def test_short_text_with_implausible_markup_goes_by_text() -> None:
    # Declared English but Cyrillic text: the script alone says it is not English.
    assert identify_language("Новости дня", "", "en").language != "en"


def test_no_letters_at_all() -> None:
    assert identify_language("", "  12:45 — 2024 ", "kk").language == "kk"
    assert identify_language("", "", None).language == FALLBACK
    assert identify_language("", "...", "x-klingon").language == FALLBACK


def test_every_guess_is_two_letters() -> None:
    for title, body in TEXTS.values():
        for declared in (None, "zz-ZZ", "", "english"):
            assert len(identify_language(title, body, declared).language) == 2


def test_tag_normalising() -> None:
    assert normalise_language_tag(" ru_RU ") == "ru"
    assert normalise_language_tag("KK-kz") == "kk"
    assert normalise_language_tag("") is None
    assert normalise_language_tag("english") is None
