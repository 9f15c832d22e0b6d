# ruff: noqa: RUF001  (Russian test texts are meant to be Cyrillic)
"""Topic tagger: short hand-written English and Russian texts (no dev-set data)."""

from __future__ import annotations

import pytest

from services.worker.topics import (
    TAGGER_NAME,
    TAGGER_VERSION,
    detect_language,
    tag_topics,
)

POLITICS = "medtop:11000000"
DIPLOMACY = "medtop:20000639"
ECONOMY = "medtop:04000000"
ENERGY = "medtop:20000256"
CRIME = "medtop:02000000"
COURT = "medtop:20000107"
SPORT = "medtop:15000000"
LABOUR = "medtop:09000000"
ARTS = "medtop:01000000"
TECH = "medtop:13000000"
DISASTER = "medtop:03000000"
HEALTH = "medtop:07000000"
WEATHER = "medtop:17000000"
ELECTION = "medtop:20000574"
CONFLICT = "medtop:16000000"

SYRIA_EN = (
    "Syrian president meets Putin in Moscow",
    "The Syrian president held talks with Russian President Vladimir Putin in the Kremlin. "
    "The two leaders discussed oil fields, energy cooperation and Russian investment in gas "
    "pipelines, and the ministers signed a bilateral agreement.",
)
SYRIA_RU = (
    "Президент Сирии встретился с Путиным в Москве",
    "Президент Сирии провел переговоры с Владимиром Путиным в Кремле. Стороны обсудили "
    "разработку нефтяных месторождений, поставки газа и сотрудничество в энергетике.",
)

KYRGYZ = (
    "Президент Садыр Жапаров парламент жана өкмөт менен жолугушту",
    "Президент Жапаров Жогорку Кеңештин депутаттары менен министрлер кабинетинин "
    "отурумунда реформа жана бюджет тууралуу сүйлөштү.",
)

# (title, text, language, expected top-1 topic, topics that must also appear)
CASES = [
    (*SYRIA_EN, "en", POLITICS, {ECONOMY, ENERGY}),
    (*SYRIA_RU, "ru", POLITICS, {ECONOMY, ENERGY}),
    (
        "Foreign ministers hold talks on visa regime",
        "The foreign minister met his Kazakh counterpart in Astana; the two diplomats held "
        "talks at the embassy and signed a joint statement on consular cooperation.",
        "en",
        POLITICS,
        {DIPLOMACY},
    ),
    (
        "Посол Турции вручил верительные грамоты",
        "Новый посол провел переговоры с министром иностранных дел; стороны обсудили "
        "дипломатические отношения и подготовку визита президента.",
        "ru",
        POLITICS,
        {DIPLOMACY},
    ),
    (
        "Astana beat Kairat in the cup final",
        "The striker scored twice in the second half and the goalkeeper saved a penalty as "
        "Astana won the match in front of 20,000 fans at the stadium.",
        "en",
        SPORT,
        set(),
    ),
    (
        "Сборная Казахстана обыграла Сербию",
        "Нападающий забил два гола во втором тайме, вратарь отразил пенальти. Главный тренер "
        "сборной остался доволен игрой команды на стадионе.",
        "ru",
        SPORT,
        set(),
    ),
    (
        "Court jails former minister for bribery",
        "A district court sentenced the former minister to eight years in prison for taking "
        "bribes. The judge said the verdict could be appealed; prosecutors had asked for ten.",
        "en",
        CRIME,
        {COURT},
    ),
    (
        "Суд приговорил экс-министра к 8 годам",
        "Первомайский районный суд Бишкека приговорил бывшего министра к восьми годам лишения "
        "свободы за получение взятки. Прокуратура намерена обжаловать приговор.",
        "ru",
        CRIME,
        {COURT},
    ),
    (
        "Labour pledges more cash for schools",
        "The Labour Party promised MPs a vote on its election manifesto, the party leader said "
        "on Sunday, as the Conservatives attacked the government's record.",
        "en",
        POLITICS,
        set(),
    ),
    (
        "Miners strike over unpaid wages",
        "Thousands of workers walked out after the trade union said wages had gone unpaid for "
        "three months; the employer promised to pay salaries next week.",
        "en",
        LABOUR,
        set(),
    ),
    (
        "Film wins top prize at festival",
        "The director's new film, starring two young actors, won the main award at the film "
        "festival; the actress thanked the audience and the cinema critics.",
        "en",
        ARTS,
        set(),
    ),
    (
        "New smartphone chip unveiled",
        "The company unveiled a smartphone processor and software update, saying users will "
        "get faster internet, better artificial intelligence and longer battery life.",
        "en",
        TECH,
        set(),
    ),
    (
        "Землетрясение магнитудой 5,2 произошло на юге Кыргызстана",
        "По данным МЧС, толчки ощущались в Оше. Спасатели обследуют разрушенные дома, пострадавших нет.",
        "ru",
        DISASTER,
        set(),
    ),
    (
        "Синоптики обещают снег и похолодание",
        "По прогнозу погоды, в ближайшие дни температура опустится до минус 15 градусов, "
        "ожидаются снегопад и сильный ветер.",
        "ru",
        WEATHER,
        set(),
    ),
    (
        "Hospitals report flu outbreak",
        "Doctors said hundreds of patients were treated for influenza this week and urged "
        "people to get the vaccine; the health ministry opened new clinics.",
        "en",
        HEALTH,
        set(),
    ),
    (
        "ЦИК подвел итоги парламентских выборов",
        "Центральная избирательная комиссия сообщила, что явка избирателей составила 35 "
        "процентов; кандидаты от пяти партий прошли в парламент.",
        "ru",
        POLITICS,
        {ELECTION},
    ),
    (
        "Shelling resumes despite ceasefire",
        "Rebels and government troops clashed overnight; the shelling killed five civilians "
        "and the UN called for the truce to be respected.",
        "en",
        CONFLICT,
        set(),
    ),
]


@pytest.mark.parametrize(("title", "text", "language", "top", "also"), CASES)
def test_topics_of_short_news(title: str, text: str, language: str, top: str, also: set[str]) -> None:
    topics = tag_topics(title, text, language)
    codes = [t.code for t in topics]
    assert codes and codes[0] == top, [(t.label, t.score, t.evidence) for t in topics]
    assert also <= set(codes), [(t.label, t.score, t.evidence) for t in topics]


@pytest.mark.parametrize(("title", "text", "language", "top", "also"), CASES)
def test_language_detected_when_not_given(
    title: str, text: str, language: str, top: str, also: set[str]
) -> None:
    assert tag_topics(title, text, None) == tag_topics(title, text, language)


@pytest.mark.parametrize(("title", "text", "language", "top", "also"), CASES)
def test_each_tag_is_explained_and_bounded(
    title: str, text: str, language: str, top: str, also: set[str]
) -> None:
    topics = tag_topics(title, text, language)
    assert 1 <= len(topics) <= 3
    assert [t.score for t in topics] == sorted((t.score for t in topics), reverse=True)
    for topic in topics:
        assert topic.code.startswith("medtop:")
        assert topic.label
        assert 0.0 < topic.score < 1.0
        assert topic.evidence


@pytest.mark.parametrize(
    ("title", "text", "language"),
    [
        ("", "", None),
        ("", "   \n ", "en"),
        # German: unsupported, even if it mentions "Minister" and "Regierung".
        (
            "Die Regierung plant neue Steuern",
            "Die Bundesregierung hat am Dienstag neue Steuern für Unternehmen beschlossen, "
            "sagte der Minister in Berlin vor dem Parlament.",
            None,
        ),
        ("Die Regierung plant neue Steuern", "Der Minister sprach im Parlament.", "de"),
        # Kyrgyz is not Russian: no topic, whether undeclared, declared "ky" or mislabelled
        # "ru", although its loanwords (президент, парламент, реформа) would score politics.
        (KYRGYZ[0], KYRGYZ[1], None),
        (KYRGYZ[0], KYRGYZ[1], "ky"),
        (KYRGYZ[0], KYRGYZ[1], "ru"),
        (KYRGYZ[0], KYRGYZ[1], "ru-KG"),
        # Too little evidence for any topic.
        ("Thursday", "It was a quiet day and nothing much happened at all.", "en"),
    ],
)
def test_no_topic_rather_than_a_wrong_one(title: str, text: str, language: str | None) -> None:
    assert tag_topics(title, text, language) == []


def test_uk_labour_party_is_politics_not_labour() -> None:
    topics = tag_topics(
        "Labour to win third term, poll says",
        "Labour would keep its majority at the next general election, according to a poll; "
        "Labour MPs welcomed the result and the Tories said the campaign had just begun.",
        "en",
    )
    assert topics[0].code == POLITICS
    assert LABOUR not in {t.code for t in topics}
    assert "Labour (party)" in topics[0].evidence


def test_labour_market_is_labour() -> None:
    topics = tag_topics(
        "Labour market tightens",
        "Unemployment fell to 4% as employers added jobs and wages rose; unions asked for a "
        "higher minimum wage.",
        "en",
    )
    assert topics[0].code == LABOUR


def test_title_outweighs_body() -> None:
    body = "The minister spoke after the match. The team's coach and the government met."
    sport = tag_topics("Striker scores winning goal in cup final", body, "en")
    politics = tag_topics("Parliament passes budget bill after government vote", body, "en")
    assert sport[0].code == SPORT
    assert politics[0].code == POLITICS


def test_deterministic_and_max_topics() -> None:
    first = tag_topics(*SYRIA_EN, "en")
    assert all(tag_topics(*SYRIA_EN, "en") == first for _ in range(3))
    assert tag_topics(*SYRIA_EN, "en", max_topics=1) == first[:1]
    assert tag_topics(*SYRIA_EN, "en", max_topics=0) == []


def test_child_topic_follows_its_parent() -> None:
    for title, text, language in [(*SYRIA_EN, "en"), (*SYRIA_RU, "ru")]:
        codes = [t.code for t in tag_topics(title, text, language)]
        assert codes.index(POLITICS) < codes.index(ECONOMY) < codes.index(ENERGY)
    # A child topic never appears without its top-level parent.
    assert tag_topics("Oil field", "Oil field and gas pipeline", "en", max_topics=1)[0].code == (ECONOMY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The government said on Monday that the new law would be passed by parliament.", "en"),
        ("Правительство заявило в понедельник, что новый закон будет принят парламентом.", "ru"),
        ("Өкмөт дүйшөмбү күнү жаңы мыйзам парламент тарабынан кабыл алынарын билдирди.", None),
        (
            "Die Regierung sagte am Montag, dass das neue Gesetz vom Parlament verabschiedet wird.",
            None,
        ),
        ("12345 !!!", None),
    ],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_tagger_identity() -> None:
    assert TAGGER_NAME == "newsflow-lexicon"
    assert TAGGER_VERSION.count(".") == 2


@pytest.mark.parametrize(
    "title",
    [
        "Labour Minister promises higher minimum wage",
        "Ministry of Labour reports fall in unemployment",
        "International Labour Organization warns on child workers",
    ],
)
def test_labour_ministry_is_labour_not_the_party(title: str) -> None:
    text = "Employers and trade unions agreed on wages; unemployment fell and jobs were added."
    assert tag_topics(title, text, "en")[0].code == LABOUR


def test_stem_collisions_do_not_fire() -> None:
    # "important" stems like "imports", "authorities" like "author", "auditions" like "audit".
    text = (
        "It is important, the authorities said. Auditions were held; the present plan "
        "will be signed and supporters will defend it."
    )
    assert tag_topics("", text, "en") == []


@pytest.mark.parametrize(
    ("title", "text", "absent"),
    [
        # "учения" (drills) and "ученые" (scientists) share a stem: no security topic here.
        (
            "Ученые разработали новый препарат",
            "Исследование провели в лаборатории университета, сообщили ученые.",
            "medtop:20000604",
        ),
        # "договорились" (agreed) is not a treaty.
        (
            "Жители договорились с застройщиком",
            "Жители дома договорились с компанией о ремонте подъезда, сообщает акимат.",
            "medtop:20000638",
        ),
    ],
)
def test_russian_stem_collisions(title: str, text: str, absent: str) -> None:
    assert absent not in {t.code for t in tag_topics(title, text, "ru")}
