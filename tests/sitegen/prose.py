"""Generated news prose: titles, teasers and bodies built from word banks and sentence frames.

Everything is drawn from a ``random.Random`` the caller seeds, so one seed gives the same
site every time. The banks are large enough, and the frames combine enough slots, that two
articles share few 3-word shingles: their SimHash fingerprints land far apart (the worker
flags copies within 10 bits; ``tests/unit/test_sitegen.py`` checks the whole site).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TOPICS = ("politics", "economy", "sport", "science", "culture", "crime", "health", "technology")

FIRST = _words(
    "Amina Boris Carla Dmitri Elena Farid Greta Hassan Ingrid Jamal Keiko Lars Maya Nikolai Olga "
    "Pedro Quentin Rosa Samir Tamara Ulrich Vera Walter Ximena Yusuf Zara Aigerim Bruno Chiara "
    "Daniyar Esther Felix Gulnara Hugo Irina Jonas Kamila Lucas Marta Nurlan Oscar Paula Rustam "
    "Sofia Timur Ursula Viktor Wanda Yerlan Zofia Adele Benedikt Celine Diego Emre Fatima Gustav"
)
LAST = _words(
    "Abenova Baker Castillo Duarte Eriksen Fischer Garcia Hoffmann Ibrahimov Jensen Kowalski Larsen "
    "Moreau Novak Okafor Petrov Quiroga Rossi Sato Tanaka Urquhart Vasquez Weber Xu Yilmaz Zhunusov "
    "Andersen Brennan Conti Dubois Esposito Ferreira Gallagher Horvat Iglesias Jovanovic Kaya Lindqvist "
    "Marchetti Nazarbek Olsen Pereira Quinn Richter Schmidt Torres Ueda Valdez Wojcik Yamamoto Zeller "
    "Aliyev Bergstrom Carvalho Dimitrov Engel"
)
CITIES = _words(
    "Almaty Astana Berlin Lyon Madrid Porto Oslo Gdansk Turin Rotterdam Tashkent Bishkek Tbilisi "
    "Vilnius Riga Tallinn Krakow Seville Marseille Hamburg Munich Vienna Graz Zurich Geneva Ghent "
    "Antwerp Bilbao Valencia Naples Bologna Milan Prague Brno Bratislava Ljubljana Zagreb Split "
    "Sofia Varna Bucharest Cluj Izmir Ankara Baku Yerevan Samarkand Bukhara Aktau Shymkent"
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "March", "April", "June", "July", "September", "October", "December")

# Per topic: institutions, nouns (singular), plural nouns, roles, verbs (past), objects.
_TOPIC_BANKS: dict[str, dict[str, tuple[str, ...]]] = {
    "politics": {
        "org": (
            "the parliament",
            "the coalition",
            "the opposition bloc",
            "the interior ministry",
            "the electoral commission",
            "the regional council",
            "the senate committee",
            "the governing party",
            "the foreign ministry",
            "the constitutional court",
        ),
        "noun": (
            "ballot",
            "referendum",
            "coalition deal",
            "budget vote",
            "reform bill",
            "cabinet reshuffle",
            "election law",
            "motion of censure",
            "treaty",
            "summit",
            "mandate",
            "recount",
            "party congress",
            "amendment",
            "caucus",
        ),
        "role": (
            "minister",
            "deputy speaker",
            "party leader",
            "senator",
            "mayor",
            "spokesperson",
            "chief whip",
            "envoy",
            "governor",
            "campaign manager",
        ),
        "verb": (
            "rejected",
            "endorsed",
            "postponed",
            "challenged",
            "negotiated",
            "blocked",
            "ratified",
            "denounced",
            "drafted",
            "tabled",
        ),
        "thing": (
            "voters",
            "delegates",
            "lawmakers",
            "candidates",
            "diplomats",
            "observers",
            "petitions",
            "districts",
            "constituencies",
            "ministers",
        ),
    },
    "economy": {
        "org": (
            "the central bank",
            "the statistics office",
            "the finance ministry",
            "the stock exchange",
            "the chamber of commerce",
            "the energy regulator",
            "the pension fund",
            "the port authority",
            "the tax service",
            "the development bank",
        ),
        "noun": (
            "inflation rate",
            "interest rate",
            "trade deficit",
            "bond auction",
            "wage deal",
            "export quota",
            "merger",
            "quarterly report",
            "currency reserve",
            "fuel price",
            "credit rating",
            "harvest forecast",
            "tariff",
            "investment fund",
            "payroll",
        ),
        "role": (
            "economist",
            "chief executive",
            "analyst",
            "trader",
            "finance director",
            "governor",
            "union negotiator",
            "auditor",
            "broker",
            "treasurer",
        ),
        "verb": (
            "raised",
            "cut",
            "forecast",
            "revised",
            "froze",
            "doubled",
            "trimmed",
            "reported",
            "projected",
            "audited",
        ),
        "thing": (
            "shareholders",
            "exporters",
            "pensioners",
            "farmers",
            "investors",
            "retailers",
            "banks",
            "refineries",
            "shipyards",
            "suppliers",
        ),
    },
    "sport": {
        "org": (
            "the football federation",
            "the national squad",
            "the league",
            "the olympic committee",
            "the cycling union",
            "the home side",
            "the visiting club",
            "the ski association",
            "the tennis board",
            "the rowing club",
        ),
        "noun": (
            "penalty",
            "semi-final",
            "transfer",
            "hat-trick",
            "relay",
            "qualifier",
            "derby",
            "championship",
            "stoppage time",
            "comeback",
            "podium finish",
            "red card",
            "season opener",
            "tie-break",
            "sprint",
        ),
        "role": (
            "coach",
            "striker",
            "goalkeeper",
            "captain",
            "referee",
            "sprinter",
            "midfielder",
            "team doctor",
            "club president",
            "defender",
        ),
        "verb": (
            "scored",
            "conceded",
            "clinched",
            "missed",
            "defended",
            "won",
            "lost",
            "appealed",
            "equalised",
            "retired",
        ),
        "thing": (
            "fans",
            "players",
            "supporters",
            "rivals",
            "athletes",
            "juniors",
            "sponsors",
            "medals",
            "points",
            "tickets",
        ),
    },
    "science": {
        "org": (
            "the observatory",
            "the genetics institute",
            "the university lab",
            "the space agency",
            "the climate centre",
            "the marine station",
            "the physics faculty",
            "the seed bank",
            "the academy of sciences",
            "the research council",
        ),
        "noun": (
            "telescope",
            "genome",
            "fossil",
            "experiment",
            "satellite",
            "glacier survey",
            "vaccine trial",
            "particle detector",
            "coral reef",
            "asteroid",
            "enzyme",
            "soil sample",
            "microscope",
            "weather balloon",
            "algorithm",
        ),
        "role": (
            "astronomer",
            "biologist",
            "geologist",
            "chemist",
            "physicist",
            "researcher",
            "lab director",
            "ecologist",
            "mathematician",
            "field engineer",
        ),
        "verb": (
            "measured",
            "discovered",
            "sequenced",
            "observed",
            "replicated",
            "calibrated",
            "catalogued",
            "launched",
            "modelled",
            "published",
        ),
        "thing": (
            "samples",
            "specimens",
            "galaxies",
            "molecules",
            "datasets",
            "colonies",
            "craters",
            "bacteria",
            "isotopes",
            "sensors",
        ),
    },
    "culture": {
        "org": (
            "the opera house",
            "the film festival",
            "the national museum",
            "the literary prize jury",
            "the philharmonic",
            "the theatre company",
            "the city gallery",
            "the book fair",
            "the ballet school",
            "the heritage trust",
        ),
        "noun": (
            "premiere",
            "exhibition",
            "novel",
            "retrospective",
            "concert",
            "sculpture",
            "libretto",
            "documentary",
            "restoration",
            "manuscript",
            "festival",
            "album",
            "screenplay",
            "installation",
            "tour",
        ),
        "role": (
            "director",
            "curator",
            "novelist",
            "conductor",
            "painter",
            "critic",
            "actress",
            "composer",
            "choreographer",
            "publisher",
        ),
        "verb": (
            "unveiled",
            "staged",
            "restored",
            "premiered",
            "acquired",
            "translated",
            "curated",
            "recorded",
            "reviewed",
            "commissioned",
        ),
        "thing": (
            "visitors",
            "audiences",
            "paintings",
            "musicians",
            "readers",
            "artists",
            "critics",
            "dancers",
            "archives",
            "manuscripts",
        ),
    },
    "crime": {
        "org": (
            "the prosecutor's office",
            "the city police",
            "the appeals court",
            "the customs service",
            "the anti-corruption bureau",
            "the border guard",
            "the district court",
            "the coast guard",
            "the fraud squad",
            "the prison service",
        ),
        "noun": (
            "indictment",
            "raid",
            "verdict",
            "smuggling ring",
            "bail hearing",
            "extradition",
            "robbery",
            "plea deal",
            "wiretap",
            "cold case",
            "money-laundering probe",
            "arrest warrant",
            "testimony",
            "forgery",
            "sentence",
        ),
        "role": (
            "prosecutor",
            "detective",
            "judge",
            "defence lawyer",
            "inspector",
            "witness",
            "police chief",
            "investigator",
            "bailiff",
            "magistrate",
        ),
        "verb": (
            "charged",
            "detained",
            "acquitted",
            "convicted",
            "seized",
            "questioned",
            "released",
            "sentenced",
            "searched",
            "extradited",
        ),
        "thing": (
            "suspects",
            "officers",
            "witnesses",
            "defendants",
            "jurors",
            "vehicles",
            "documents",
            "accounts",
            "weapons",
            "shipments",
        ),
    },
    "health": {
        "org": (
            "the health ministry",
            "the regional hospital",
            "the disease control agency",
            "the nurses' union",
            "the pharmacy board",
            "the children's clinic",
            "the blood bank",
            "the medical council",
            "the ambulance service",
            "the insurance fund",
        ),
        "noun": (
            "outbreak",
            "waiting list",
            "vaccination drive",
            "clinical study",
            "flu season",
            "drug shortage",
            "screening programme",
            "transplant",
            "emergency ward",
            "diagnosis",
            "prescription rule",
            "hospital budget",
            "heatwave warning",
            "nutrition label",
            "pandemic plan",
        ),
        "role": (
            "surgeon",
            "epidemiologist",
            "nurse",
            "pharmacist",
            "paediatrician",
            "health official",
            "hospital director",
            "virologist",
            "midwife",
            "general practitioner",
        ),
        "verb": (
            "treated",
            "vaccinated",
            "screened",
            "admitted",
            "diagnosed",
            "prescribed",
            "warned",
            "recalled",
            "funded",
            "monitored",
        ),
        "thing": (
            "patients",
            "doctors",
            "clinics",
            "wards",
            "doses",
            "beds",
            "pharmacies",
            "cases",
            "volunteers",
            "infants",
        ),
    },
    "technology": {
        "org": (
            "the telecom operator",
            "the chip maker",
            "the data protection authority",
            "the startup",
            "the cloud provider",
            "the robotics firm",
            "the cyber security agency",
            "the app store",
            "the broadband regulator",
            "the software cooperative",
        ),
        "noun": (
            "data breach",
            "software update",
            "fibre network",
            "chip plant",
            "patent dispute",
            "battery design",
            "search engine",
            "outage",
            "encryption standard",
            "drone",
            "data centre",
            "open-source release",
            "satellite link",
            "privacy ruling",
            "e-scooter scheme",
        ),
        "role": (
            "engineer",
            "founder",
            "developer",
            "chief technology officer",
            "security researcher",
            "product manager",
            "regulator",
            "hacker",
            "designer",
            "systems administrator",
        ),
        "verb": (
            "patched",
            "launched",
            "acquired",
            "leaked",
            "encrypted",
            "licensed",
            "shut down",
            "rolled out",
            "benchmarked",
            "open-sourced",
        ),
        "thing": (
            "users",
            "servers",
            "subscribers",
            "devices",
            "routers",
            "accounts",
            "developers",
            "chips",
            "drones",
            "apps",
        ),
    },
}

_ADJ = _words(
    "unexpected long-awaited controversial modest sweeping temporary disputed record cautious "
    "ambitious costly narrow surprising landmark fragile rapid overdue informal decisive quiet "
    "partial bitter lengthy rare sharp gradual bold"
)
_ADV = (
    "sharply",
    "quietly",
    "abruptly",
    "narrowly",
    "cautiously",
    "openly",
    "briefly",
    "repeatedly",
    "firmly",
)
_TIME = (
    "late on {wd}",
    "early on {wd}",
    "on {wd} evening",
    "earlier this week",
    "over the weekend",
    "in the last days of {mo}",
    "before the end of {mo}",
    "since mid-{mo}",
    "on {wd} morning",
    "after a night of talks",
    "within hours",
    "by {wd}",
)
_SAY = (
    "said",
    "told reporters",
    "wrote in a statement",
    "said in an interview",
    "told local radio",
    "argued",
    "insisted",
    "warned",
    "conceded",
    "added",
)

# Sentence frames: {P} person, {R} role, {O} org, {N} noun, {N2} another noun, {V} verb, {T}
# plural thing, {A} adjective, {C} city, {K} a number, {W} time phrase, {S} saying verb, {D} adverb.
_FRAMES = (
    "{P}, the {R} of {O}, {S} that the {A} {N} would not change the plans for {C}.",
    "{O} {V} the {N} {W}, a move that {K} {T} had demanded for months.",
    "In {C}, {K} {T} gathered outside the offices of {O} as the {N} was {V}.",
    "\u201cWe did not expect a {A} {N} of this kind,\u201d {P} {S}.",
    "The {N} comes after {O} {V} a {A} {N2} in {C} {W}.",
    "According to figures published by {O}, {K} {T} were affected by the {N}.",
    "{P}, a {R} based in {C}, {S} that the {N2} had been {V} {D}.",
    "Critics say the {A} {N} leaves {T} in {C} without a clear answer.",
    "{O} has {V} {K} {T} so far, and a {A} {N2} is due {W}.",
    "Asked about the {N}, {P} {S} only that talks with {O} were continuing.",
    "The {R} {P} {V} the {N2} {D}, saying {T} deserved better.",
    "It was the {A} {N} in {C} since {K}, when {O} last {V} a {N2}.",
    "Officials in {C} {S} the {N} would cost about {K} million.",
    "{P} and {P2} of {O} are expected to meet in {C} {W}.",
    "Neither {O} nor {O2} would comment on the {A} {N2}.",
    "A {R} close to the talks {S} the {N} had been {V} twice before.",
    "The decision leaves {K} {T} waiting for a {A} {N2}, {P} {S}.",
    "By {W}, {O} had {V} the {N} and promised a {A} review.",
    "Residents of {C} {S} the {N2} was {A}, and {K} of them signed a letter to {O}.",
    "{P}, who has followed the {N} since {K}, called it {A}.",
    "Several {T} in {C} {S} they learned of the {N} from social media.",
    "The {A} {N} was first reported by a newspaper in {C} {W}.",
    "{O} {S} the {N2} would be {V} again in {MO} if {T} agreed.",
    "Last year {O} {V} a similar {N}, though on a {A} scale.",
)

_LANG_BANKS: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "noun": (
            "Haushalt",
            "Gesetzentwurf",
            "Streik",
            "Gutachten",
            "Tarifvertrag",
            "Bauprojekt",
            "Wahlkampf",
            "Hochwasser",
            "Stadtrat",
            "Bahnhof",
            "Klinikum",
            "Förderprogramm",
            "Untersuchung",
            "Ausstellung",
            "Abkommen",
        ),
        "adj": (
            "umstrittene",
            "neue",
            "lange erwartete",
            "überraschende",
            "knappe",
            "teure",
            "vorläufige",
            "deutliche",
            "geplante",
            "erste",
        ),
        "verb": (
            "abgelehnt",
            "beschlossen",
            "verschoben",
            "vorgestellt",
            "kritisiert",
            "genehmigt",
            "gestoppt",
            "verlängert",
            "geprüft",
            "unterzeichnet",
        ),
        "thing": (
            "Anwohner",
            "Abgeordnete",
            "Beschäftigte",
            "Landwirte",
            "Pendler",
            "Eltern",
            "Studierende",
            "Händler",
            "Ärzte",
            "Fahrgäste",
        ),
        "time": (
            "am Montag",
            "am Dienstagabend",
            "in dieser Woche",
            "am Wochenende",
            "bis Ende März",
            "seit Jahresbeginn",
            "am Donnerstag",
            "noch vor dem Sommer",
        ),
    },
    "fr": {
        "noun": (
            "budget",
            "projet de loi",
            "grève",
            "rapport",
            "accord salarial",
            "chantier",
            "scrutin",
            "incendie",
            "conseil municipal",
            "tramway",
            "hôpital",
            "plan d'aide",
            "enquête",
            "exposition",
            "traité",
        ),
        "adj": (
            "controversé",
            "nouveau",
            "attendu",
            "surprenant",
            "serré",
            "coûteux",
            "provisoire",
            "net",
            "prévu",
            "premier",
        ),
        "verb": (
            "rejeté",
            "adopté",
            "reporté",
            "présenté",
            "critiqué",
            "approuvé",
            "suspendu",
            "prolongé",
            "examiné",
            "signé",
        ),
        "thing": (
            "habitants",
            "députés",
            "salariés",
            "agriculteurs",
            "usagers",
            "parents",
            "étudiants",
            "commerçants",
            "médecins",
            "voyageurs",
        ),
        "time": (
            "lundi",
            "mardi soir",
            "cette semaine",
            "ce week-end",
            "d'ici fin mars",
            "depuis janvier",
            "jeudi matin",
            "avant l'été",
        ),
    },
    "es": {
        "noun": (
            "presupuesto",
            "proyecto de ley",
            "huelga",
            "informe",
            "convenio",
            "obra",
            "referéndum",
            "incendio",
            "ayuntamiento",
            "metro",
            "hospital",
            "plan de ayudas",
            "investigación",
            "exposición",
            "tratado",
        ),
        "adj": (
            "polémico",
            "nuevo",
            "esperado",
            "sorprendente",
            "ajustado",
            "costoso",
            "provisional",
            "claro",
            "previsto",
            "primer",
        ),
        "verb": (
            "rechazado",
            "aprobado",
            "aplazado",
            "presentado",
            "criticado",
            "autorizado",
            "paralizado",
            "prorrogado",
            "revisado",
            "firmado",
        ),
        "thing": (
            "vecinos",
            "diputados",
            "trabajadores",
            "agricultores",
            "usuarios",
            "padres",
            "estudiantes",
            "comerciantes",
            "médicos",
            "viajeros",
        ),
        "time": (
            "el lunes",
            "el martes por la noche",
            "esta semana",
            "el fin de semana",
            "antes de finales de marzo",
            "desde enero",
            "el jueves",
            "antes del verano",
        ),
    },
}
_LANG_FRAMES: dict[str, tuple[str, ...]] = {
    "de": (
        "Bürgermeister {P} kündigte {W} an, den {N} noch einmal prüfen zu lassen.",
        "Rund {K} {T} unterschrieben eine Petition gegen den {A} {N}.",
        "Wie {P} berichtet, war der {N} in {C} lange umstritten.",
        "Ob der {N} tatsächlich kommt, ist nach Einschätzung von {P} offen.",
        "Die Opposition in {C} sprach von einem {A} Signal für die {T}.",
        "Im Stadtteil {C}-Nord warten {K} {T} seit Monaten auf eine Entscheidung.",
        "Der Landkreis hatte den {N} bereits {W} {V}, sagte {P}.",
        "{K} Prozent der {T} halten den {N} laut einer Umfrage für richtig.",
        "{P} sagte {W}, der {A} {N} werde in {C} nichts an den Plänen ändern.",
        "Der {N} wurde {W} {V}, nachdem {K} {T} monatelang protestiert hatten.",
        "In {C} versammelten sich {K} {T} vor dem Rathaus, als der {N} {V} wurde.",
        "Nach Angaben der Behörden sind rund {K} {T} von dem {A} {N} betroffen.",
        "{P} kritisierte, der {N} sei ohne Rücksprache mit den {T} {V} worden.",
        "Kritiker in {C} halten den {A} {N} für einen Fehler und fordern eine neue Prüfung.",
        "Ein Sprecher der Stadt {C} wollte sich zu dem {N} {W} nicht äußern.",
        "Bereits im Jahr {K} hatte {P} einen ähnlichen {N} vorgeschlagen.",
        "Die {T} in {C} erfuhren nach eigenen Angaben aus der Zeitung von dem {N}.",
        "Der {A} {N} soll laut {P} etwa {K} Millionen Euro kosten.",
    ),
    "fr": (
        "Le maire {P} a annoncé {W} vouloir réexaminer le {N}.",
        "Quelque {K} {T} ont signé une pétition contre le {N} {A}.",
        "Comme le rapporte {P}, le {N} divise {C} depuis longtemps.",
        "Reste à savoir si le {N} verra le jour, estime {P}.",
        "L'opposition de {C} parle d'un signal {A} pour les {T}.",
        "Dans le quartier nord de {C}, {K} {T} attendent une décision depuis des mois.",
        "Le département avait déjà {V} le {N} {W}, a rappelé {P}.",
        "Selon un sondage, {K} % des {T} approuvent le {N}.",
        "{P} a déclaré {W} que le {N} {A} ne changerait rien aux projets de {C}.",
        "Le {N} a été {V} {W}, après des mois de protestation de {K} {T}.",
        "À {C}, {K} {T} se sont rassemblés devant la mairie lorsque le {N} a été {V}.",
        "Selon les autorités, environ {K} {T} sont concernés par ce {N} {A}.",
        "{P} estime que le {N} a été {V} sans consulter les {T}.",
        "Les critiques à {C} jugent le {N} {A} et réclament un nouvel examen.",
        "Un porte-parole de la ville de {C} n'a pas souhaité commenter le {N} {W}.",
        "Dès {K}, {P} avait proposé un {N} semblable.",
        "Les {T} de {C} disent avoir appris l'existence du {N} par la presse.",
        "Le {N} {A} devrait coûter près de {K} millions d'euros, selon {P}.",
    ),
    "es": (
        "El alcalde {P} anunció {W} que revisará de nuevo el {N}.",
        "Unos {K} {T} firmaron una petición contra el {N} {A}.",
        "Según informa {P}, el {N} lleva tiempo dividiendo a {C}.",
        "Sigue sin estar claro si el {N} saldrá adelante, opina {P}.",
        "La oposición de {C} habla de una señal {A} para los {T}.",
        "En el barrio norte de {C}, {K} {T} esperan una decisión desde hace meses.",
        "La diputación ya había {V} el {N} {W}, recordó {P}.",
        "Según una encuesta, el {K} % de los {T} apoya el {N}.",
        "{P} afirmó {W} que el {N} {A} no cambiará los planes de {C}.",
        "El {N} fue {V} {W}, tras meses de protestas de {K} {T}.",
        "En {C}, {K} {T} se concentraron ante el ayuntamiento cuando el {N} fue {V}.",
        "Según las autoridades, unos {K} {T} se ven afectados por el {N} {A}.",
        "{P} criticó que el {N} fuera {V} sin consultar a los {T}.",
        "Los críticos en {C} consideran el {N} {A} un error y piden una nueva revisión.",
        "Un portavoz de la ciudad de {C} declinó comentar el {N} {W}.",
        "Ya en {K}, {P} había propuesto un {N} parecido.",
        "Los {T} de {C} aseguran que se enteraron del {N} por la prensa.",
        "El {N} {A} costará unos {K} millones de euros, según {P}.",
    ),
}


@dataclass(frozen=True)
class Story:
    """One generated article's words (no markup)."""

    title: str
    teaser: str
    paragraphs: tuple[str, ...]
    author: str
    city: str
    topic: str
    language: str
    subheads: tuple[str, ...] = ()


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _fill(frame: str, rng: random.Random, topic: str) -> str:
    bank = _TOPIC_BANKS[topic]
    time = rng.choice(_TIME).format(wd=rng.choice(WEEKDAYS), mo=rng.choice(MONTHS))
    values = {
        "P": person(rng),
        "P2": person(rng),
        "R": rng.choice(bank["role"]),
        "O": rng.choice(bank["org"]),
        "O2": rng.choice(bank["org"]),
        "N": rng.choice(bank["noun"]),
        "N2": rng.choice(bank["noun"]),
        "V": rng.choice(bank["verb"]),
        "T": rng.choice(bank["thing"]),
        "A": rng.choice(_ADJ),
        "C": rng.choice(CITIES),
        "K": str(rng.choice((rng.randint(2, 99), rng.randint(100, 9999), rng.randint(1990, 2025)))),
        "W": time,
        "S": rng.choice(_SAY),
        "D": rng.choice(_ADV),
        "MO": rng.choice(MONTHS),
    }
    sentence = frame.format(**values)
    return sentence[0].upper() + sentence[1:]


def _fill_lang(frame: str, rng: random.Random, language: str) -> str:
    bank = _LANG_BANKS[language]
    values = {
        "P": person(rng),
        "N": rng.choice(bank["noun"]),
        "A": rng.choice(bank["adj"]),
        "V": rng.choice(bank["verb"]),
        "T": rng.choice(bank["thing"]),
        "C": rng.choice(CITIES),
        "K": str(rng.choice((rng.randint(2, 99), rng.randint(100, 9999), rng.randint(1990, 2025)))),
        "W": rng.choice(bank["time"]),
    }
    sentence = frame.format(**values)
    return sentence[0].upper() + sentence[1:]


_OPENERS = (
    "",
    "",
    "",
    "In {C}, ",
    "Meanwhile, ",
    "{W}, ",
    "According to {P2}, ",
    "As expected, ",
    "For the first time since {K}, ",
    "Behind closed doors, ",
    "Once again, ",
    "Speaking in {C}, ",
    "Despite the {A} weather, ",
    "Without warning, ",
    "Two weeks later, ",
    "On paper, ",
)
_TAILS = (
    "",
    "",
    "",
    " after {K} days of talks",
    " despite objections from {O2}",
    ", according to {P2}",
    " for the {A} time",
    " in front of {K} {T}",
    " while {O2} looked on",
    " until at least {MO}",
    " ahead of a {A} vote",
    ", sources in {C} said",
    " with little public debate",
    " by a wide margin",
)
_LANG_EXTRA: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "de": (
        ("", "", "Unterdessen ", "Zuvor ", "In {C} ", "Überraschend "),
        ("", "", " Das teilte {P} mit.", " So die Behörden in {C}."),
    ),
    "fr": (
        ("", "", "Entre-temps, ", "Auparavant, ", "À {C}, ", "Contre toute attente, "),
        ("", "", " C'est ce qu'a indiqué {P}.", " Selon les autorités de {C}."),
    ),
    "es": (
        ("", "", "Mientras tanto, ", "Antes, ", "En {C}, ", "Por sorpresa, "),
        ("", "", " Así lo indicó {P}.", " Según las autoridades de {C}."),
    ),
}


@dataclass(frozen=True)
class _Voice:
    """One article's own selection of sentence frames, so articles do not share their frames."""

    frames: tuple[str, ...]
    openers: tuple[str, ...]
    tails: tuple[str, ...]


def _voice(rng: random.Random, language: str) -> _Voice:
    if language == "en":
        return _Voice(
            tuple(rng.sample(_FRAMES, 7)), tuple(rng.sample(_OPENERS, 6)), tuple(rng.sample(_TAILS, 6))
        )
    openers, tails = _LANG_EXTRA[language]
    return _Voice(tuple(rng.sample(_LANG_FRAMES[language], 5)), openers, tails)


def _sentence(rng: random.Random, topic: str, language: str, voice: _Voice | None = None) -> str:
    voice = voice or _voice(rng, language)
    frame = rng.choice(voice.frames)
    opener, tail = rng.choice(voice.openers), rng.choice(voice.tails)
    if language == "en":
        if tail and frame.endswith("."):
            frame = frame[:-1] + tail + "."
        if opener:
            frame = opener + frame[0].lower() + frame[1:] if not frame.startswith("{") else opener + frame
        return _fill(frame, rng, topic)
    text = _fill_lang(opener + frame, rng, language)
    return text + (_fill_lang(tail, rng, language) if tail else "")


def _title(rng: random.Random, topic: str, language: str, city: str) -> str:
    if language != "en":
        bank = _LANG_BANKS[language]
        noun, verb = rng.choice(bank["noun"]), rng.choice(bank["verb"])
        lead = {"de": "in", "fr": "à", "es": "en"}[language]
        return f"{city}: {rng.choice(bank['adj']).capitalize()} {noun} {verb} {lead} {rng.choice(CITIES)}"
    bank = _TOPIC_BANKS[topic]
    shapes = (
        "{O} {V} {A} {N} in {C}",
        "{C} {T} Wait as {O} Weighs {A} {N}",
        "{P} Says {A} {N} Will Reach {C} by {MO}",
        "{A} {N} Splits {T} in {C}",
        "Why {O} {V} the {N} in {C}",
        "{K} {T} Affected After {N} in {C}",
    )
    values = {
        "O": rng.choice(bank["org"]).removeprefix("the ").title(),
        "V": rng.choice(bank["verb"]).title(),
        "A": rng.choice(_ADJ).title(),
        "N": rng.choice(bank["noun"]).title(),
        "C": city,
        "T": rng.choice(bank["thing"]).title(),
        "P": person(rng),
        "MO": rng.choice(MONTHS),
        "K": str(rng.randint(12, 4000)),
    }
    return rng.choice(shapes).format(**values)


def story(rng: random.Random, topic: str, language: str, words: int) -> Story:
    """An article of about ``words`` words (never fewer than ~160, so it is not a stub)."""
    city = rng.choice(CITIES)
    title = _title(rng, topic, language, city)
    voice = _voice(rng, language)
    teaser = _sentence(rng, topic, language, voice)
    paragraphs: list[str] = []
    count = 0
    target = max(words, 160)
    while count < target:
        para = " ".join(_sentence(rng, topic, language, voice) for _ in range(rng.randint(2, 5)))
        paragraphs.append(para)
        count += len(para.split())
    subheads = tuple(
        _sentence(rng, topic, language, voice).split(",")[0].rstrip(".") for _ in range(len(paragraphs) // 5)
    )
    return Story(
        title=title,
        teaser=teaser,
        paragraphs=tuple(paragraphs),
        author=person(rng),
        city=city,
        topic=topic,
        language=language,
        subheads=subheads,
    )


def comment(rng: random.Random, topic: str) -> str:
    return _fill(rng.choice(_FRAMES), rng, topic)
