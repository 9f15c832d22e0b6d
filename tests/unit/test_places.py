# ruff: noqa: RUF001, RUF003  (Russian test texts are meant to be Cyrillic)
"""Places: countries from names, demonyms and cities, with ambiguous names (no dev-set data)."""

from __future__ import annotations

import pytest

from services.worker.places import find_places


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # English names, demonyms and cities.
        (
            "Syrian President Bashar al-Assad met Vladimir Putin in Moscow. Russian officials "
            "said Damascus wanted more investment; Russia's energy minister agreed.",
            "en",
            ["RU", "SY"],
        ),
        (
            "Talks in Astana and Almaty; Kazakh and Kyrgyz officials flew on to Bishkek.",
            "en",
            ["KZ", "KG"],
        ),
        ("The Russian Federation and the United States of America", "en", ["RU", "US"]),
        ("Officials in Tashkent and Dushanbe welcomed the Uzbek plan.", "en", ["UZ", "TJ"]),
        ("The U.S. and the UK imposed sanctions.", "en", ["US", "GB"]),
        ("A pro-Russian party won in Moldova.", "en", ["RU", "MD"]),
        # Russian names in any case form, demonyms in lower case.
        (
            "Президент Сирии встретился с Путиным в Москве. Российская сторона обсудила поставки в Дамаск.",
            "ru",
            ["SY", "RU"],
        ),
        (
            "Токаев прибыл в Бишкек. Казахстан и Кыргызстан подписали соглашение в Астане; "
            "казахстанская делегация осталась в Киргизии.",
            "ru",
            ["KG", "KZ"],
        ),
        ("Сирийские беженцы вернулись из Турции и Ливана.", "ru", ["SY", "TR", "LB"]),
        ("Делегация США и Соединенного Королевства прибыла в Ташкент.", "ru", ["US", "GB", "UZ"]),
        ("Нигерия и Нигер договорились; в Нигере прошли выборы.", "ru", ["NE", "NG"]),
        # Nothing to find.
        ("", None, []),
        ("The weather was fine and the match ended in a draw.", "en", []),
        ("Самарканд", "ru", ["UZ"]),
    ],
)
def test_names_demonyms_and_cities(text: str, language: str | None, expected: list[str]) -> None:
    assert find_places(text, language) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Georgia: the country needs a Caucasus signal; the US state's context rules it out.
        ("Russia and Georgia resumed flights between Moscow and Tbilisi.", ["RU", "GE"]),
        ("The governor of Georgia spoke in Atlanta about the Senate race.", []),
        ("Georgia Smith won the spelling bee.", []),
        # Jordan: the country vs the person.
        ("Michael Jordan scored 40 points for the Bulls.", []),
        ("Jordan Henderson signed a new contract.", []),
        ("King Abdullah of Jordan returned to Amman.", ["JO"]),
        ("Refugees crossed into Jordan last week.", ["JO"]),
        # Turkey and China: the bird and the porcelain are lower case.
        ("We roasted a turkey and served it on fine china.", []),
        ("Turkey closed its border with Syria.", ["TR", "SY"]),
        ("Exports to China rose.", ["CN"]),
        # Chad: a first name unless the country is meant.
        ("Chad Smith played the drums.", []),
        ("Troops from Chad and Niger joined the mission in the Sahel.", ["TD", "NE"]),
        # Niger / Nigeria and Guinea inside longer names.
        ("Oil spills in the Niger Delta angered Nigerians.", ["NG"]),
        ("Papua New Guinea beat Fiji.", ["PG", "FJ"]),
        ("Equatorial Guinea and Guinea-Bissau signed a deal.", ["GQ", "GW"]),
        ("Her guinea pig escaped.", []),
        # Russian: "того" is a pronoun, "Того" after a locative is the country.
        ("Того же мнения придерживается министр.", []),
        ("Посол прибыл в Того с визитом.", ["TG"]),
        # Capitals that are also first names are left out of the gazetteer.
        ("Sofia Coppola and Santiago Lima starred; София Ротару спела.", []),
        ("Thai and Filipino nurses work in Nairobi.", ["TH", "PH", "KE"]),
    ],
)
def test_ambiguous_names(text: str, expected: list[str]) -> None:
    assert find_places(text, None) == expected


def test_salience_orders_by_mentions_and_title() -> None:
    text = "Kazakhstan said... Kazakhstan added... Kazakh officials met a Russian envoy."
    assert find_places(text, "en") == ["KZ", "RU"]
    assert find_places(text, "en", title="Moscow, Russia and Russian envoys") == ["RU", "KZ"]


def test_deduplicated_and_deterministic() -> None:
    text = "Syria, Syria, Syrian, Damascus, Syria."
    assert find_places(text, "en") == ["SY"]
    assert all(find_places(text, "en") == ["SY"] for _ in range(3))


def test_codes_are_iso_alpha2() -> None:
    text = "France, Germany, Japan, Brazil, Kenya, Iran and Vietnam."
    codes = find_places(text, "en")
    assert codes == ["FR", "DE", "JP", "BR", "KE", "IR", "VN"]
    assert all(len(c) == 2 and c.isupper() for c in codes)


def test_shared_tokens_give_the_same_places() -> None:
    from services.worker.tokens import Tokens

    texts = [
        "Syrian President Bashar al-Assad met Vladimir Putin in Moscow; Russia's minister agreed.",
        "Токаев прибыл в Бишкек. Казахстан и Кыргызстан подписали соглашение в Астане.",
        "Michael Jordan visited Jordan. Georgia's capital Tbilisi hosted talks in Georgia.",
        "",
    ]
    for text in texts:
        assert find_places(text, None, tokens=Tokens(text)) == find_places(text, None)
    # tokens of another text are not trusted: the text is tokenised again
    assert find_places("Talks in Moscow.", None, tokens=Tokens("Talks in Paris.")) == ["RU"]


def test_a_huge_text_is_read_up_to_the_cap_with_or_without_tokens() -> None:
    from services.worker.places import MAX_TEXT_CHARS
    from services.worker.tokens import Tokens

    text = "Talks in Moscow went on. " + "Nothing here at all. " * (MAX_TEXT_CHARS // 20) + "Kabul"
    assert len(text) > MAX_TEXT_CHARS
    assert find_places(text, None, tokens=Tokens(text)) == find_places(text, None) == ["RU"]
