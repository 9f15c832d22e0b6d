"""SimHash fingerprints, Hamming distance and LSH band keys."""

from __future__ import annotations

import random

import pytest

from services.worker.similarity import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    SIMHASH_BANDS,
    hamming,
    is_near_duplicate,
    simhash64,
    simhash_bands,
    simhash_words,
)
from services.worker.tokens import Tokens

ARTICLE = (
    "Councillors in Port Ellery voted on Wednesday evening to rebuild the ferry pier that was "
    "torn apart by last winter's storm surge, ending months of argument over whether the island "
    "crossing should move to a new site further up the estuary. The decision, carried by eleven "
    "votes to four, commits the council to a design that raises the deck by almost a metre and "
    "replaces the timber piles with steel. Engineers told the meeting that the old structure had "
    "been built for tides that the town no longer sees. Work is due to begin in June and to "
    "finish before the autumn gales. The estimated cost of the rebuild has risen by a fifth since "
    "the first survey, largely because of the price of steel, and the council will borrow against "
    "its harbour dues to cover the gap. Opponents of the plan argued that the estuary site would "
    "be sheltered from the prevailing wind and cheaper to maintain over the next fifty years. The "
    "ferry operator welcomed the vote and said it would restore the full timetable, including the "
    "early crossing used by shift workers, as soon as the new landing stage is certified."
)
OTHER = (
    "The county cricket club has named a new captain for the coming season after the retirement "
    "of its long-serving opening batsman, who scored more than twelve thousand runs for the side. "
    "The new captain, a fast bowler who joined from a neighbouring county three years ago, said he "
    "wanted the team to play with more freedom and to give young players from the academy their "
    "chance. The club finished fourth in the second division last year and narrowly missed "
    "promotion on the final day. Ticket sales for the opening home match are already ahead of last "
    "year, the club said, and a new stand at the river end of the ground will be ready in time. "
    "Coaches will run free sessions for schoolchildren during the summer holidays."
)


@pytest.mark.parametrize(
    "copy",
    [
        ARTICLE.replace("eleven votes to four", "eleven votes to three"),  # a word changed
        ARTICLE.replace(" Work is due to begin in June and to finish before the autumn gales.", ""),
        ARTICLE + " A public meeting on the design will be held next month.",  # sentence added
        "PORT ELLERY (Newswire) - " + ARTICLE + " Reporting by a correspondent; editing by a desk.",
        ARTICLE.upper(),  # case does not matter
        "  ".join(ARTICLE.split()),  # nor whitespace
        ARTICLE.replace(",", ""),  # nor punctuation
    ],
    ids=["word", "sentence-removed", "sentence-added", "wire-header-footer", "case", "space",
         "punctuation"],
)  # fmt: skip
def test_near_copy_is_within_threshold(copy):
    distance = hamming(simhash64(ARTICLE), simhash64(copy))
    assert distance <= NEAR_DUPLICATE_MAX_DISTANCE
    assert is_near_duplicate(simhash64(ARTICLE), simhash64(copy))


def test_different_article_is_beyond_threshold():
    assert hamming(simhash64(ARTICLE), simhash64(OTHER)) > NEAR_DUPLICATE_MAX_DISTANCE
    assert not is_near_duplicate(simhash64(ARTICLE), simhash64(OTHER))


def test_exact_copy_has_distance_zero_and_is_deterministic():
    assert simhash64(ARTICLE) == simhash64(ARTICLE)
    # a fixed value: the fingerprint must not change between processes or releases
    assert simhash64("the quick brown fox") == simhash64("The quick, brown fox!")
    assert simhash64("the quick brown fox") != simhash64("the quick brown dog")


def test_fingerprint_is_stable_across_runs():
    # Python's hash() is salted per process; blake2b is not. Pin one value.
    assert simhash64("one two three") == _expected_single_feature("one two three")


def _expected_single_feature(feature: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")


@pytest.mark.parametrize("text", ["", "   ", "!!! ... ---"])
def test_text_without_words_hashes_to_zero(text):
    assert simhash64(text) == 0


def test_value_fits_in_64_bits():
    assert 0 <= simhash64(ARTICLE) < 2**64
    assert 0 <= simhash64(OTHER) < 2**64


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [(0, 0, 0), (0, 1, 1), (0, 2**64 - 1, 64), (0b1010, 0b0101, 4), (2**63, 0, 1)],
)
def test_hamming(a, b, distance):
    assert hamming(a, b) == distance


@pytest.mark.parametrize("bands", [1, 4, 6, 8, SIMHASH_BANDS, 11, 16, 64])
def test_bands_cover_all_bits_and_are_distinct_per_position(bands):
    keys = simhash_bands(0, bands)
    assert len(keys) == bands
    assert len(set(keys)) == bands  # the band index keeps equal slices apart
    assert simhash_bands(2**64 - 1, bands) != keys
    # one differing bit changes exactly one band
    for bit in (0, 17, 63):
        changed = simhash_bands(1 << bit, bands)
        assert sum(x != y for x, y in zip(keys, changed, strict=True)) == 1


def test_default_bands_are_four_16_bit_hex_keys():
    assert simhash_bands(0x0123456789ABCDEF) == ["0:cdef", "1:89ab", "2:4567", "3:0123"]


@pytest.mark.parametrize("bands", [4, SIMHASH_BANDS])
def test_pairs_closer_than_bands_share_a_band(bands):
    rng = random.Random(11)
    for _ in range(500):
        value = rng.getrandbits(64)
        flips = rng.sample(range(64), rng.randrange(bands))
        other = value
        for bit in flips:
            other ^= 1 << bit
        assert set(simhash_bands(value, bands)) & set(simhash_bands(other, bands))


@pytest.mark.parametrize("bands", [0, 65, -1])
def test_bad_band_count_is_refused(bands):
    with pytest.raises(ValueError):
        simhash_bands(1, bands)


# --- the vectorised SimHash gives the values of the plain loop it replaced ---------------


def _reference_simhash64(text: str) -> int:
    """The SimHash as first written: a Python loop over shingles and bits."""
    import hashlib
    import re

    tokens = re.findall(r"\w+", text.lower())
    if not tokens:
        return 0
    if len(tokens) < 3:
        features = [" ".join(tokens)]
    else:
        features = [" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    weights = [0] * 64
    for feature in features:
        value = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit, weight in enumerate(weights) if weight > 0)


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocabulary = [*(ARTICLE + " " + OTHER).split(), "İstanbul", "Москве", "x_1", "2025", "ß", "ёж"]
    texts = []
    for _ in range(count):
        n = rng.choice([0, 1, 2, 3, 4, rng.randrange(5, 40), rng.randrange(40, 1500)])
        texts.append(" ".join(rng.choice(vocabulary) for _ in range(n)))
    return texts


def test_simhash_equals_the_plain_loop_on_many_texts():
    texts = [ARTICLE, OTHER, ARTICLE.upper(), "", "a", "a b", "a b c", *_random_texts(1500, seed=3)]
    for text in texts:
        assert simhash64(text) == _reference_simhash64(text), text[:80]


def test_simhash_of_shared_words_equals_simhash_of_text():
    for text in (ARTICLE, OTHER, "one two", ""):
        assert simhash_words(Tokens(text).words) == simhash64(text)


def test_ties_leave_the_bit_clear():
    # two shingles that disagree on a bit give weight 0 there: the bit is clear, as before
    text = "alpha beta gamma delta"
    assert simhash64(text) == _reference_simhash64(text)
