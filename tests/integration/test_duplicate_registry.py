"""The duplicate registry on the real Redis: exact copies, near copies, edits, the window."""

from __future__ import annotations

from typing import Any

import pytest

from services.worker.duplicates import register_and_find_original
from services.worker.similarity import NEAR_DUPLICATE_MAX_DISTANCE, SIMHASH_BANDS, simhash64, simhash_bands
from shared.document import content_hash
from shared.keys import Keys

pytestmark = pytest.mark.integration

STORY = (
    "Russian Deputy Prime Minister Alexander Novak said Russian companies that have long worked in "
    "Syrian oil fields are ready to continue, including at fields that stopped production and at new "
    "ones. He said the firms would rely on domestic equipment and that transport infrastructure and the "
    "energy sector were discussed at length during the presidential talks in the Kremlin on Wednesday. "
    "The two sides agreed to convene the joint governmental committee soon to coordinate economic work. "
    "President Ahmad al-Sharaa, on his first official visit to Russia since taking office, said the new "
    "government in Damascus was rebuilding ties with regional and world powers while honouring the "
    "agreements signed with Moscow. Vladimir Putin said relations between the two countries had never "
    "depended on political conditions and rested on mutual benefit, and that Moscow wanted to develop "
    "them further. Officials from both delegations also discussed humanitarian deliveries, wheat and "
    "medicines, and the reconstruction of power plants damaged during the civil war that began in 2011."
)
OTHER = (
    "The British government imposed sanctions on Lukoil, freezing any assets under UK jurisdiction and "
    "barring British firms from dealing with it. Kazakhstan's energy ministry said it was studying the "
    "effect on Karachaganak, Tengiz and the Caspian Pipeline Consortium, where the company holds stakes. "
    "Analysts said exemptions for joint ventures in third countries would decide the practical impact."
)


def _register(
    r: Any, keys: Keys, doc_id: str, text: str, now: float, window: float = 7 * 86400
) -> str | None:
    fingerprint = simhash64(text)
    return register_and_find_original(
        r,
        keys,
        doc_id=doc_id,
        text_hash=content_hash(text),
        simhash=fingerprint,
        bands=simhash_bands(fingerprint, SIMHASH_BANDS),
        max_distance=NEAR_DUPLICATE_MAX_DISTANCE,
        ttl_seconds=30 * 86400,
        window_seconds=window,
        now=now,
    )


def test_exact_and_near_copies_point_to_the_first_article(redis_client: Any, make_settings: Any) -> None:
    keys = Keys(make_settings().redis_prefix)
    assert _register(redis_client, keys, "orig", STORY, now=1000.0) is None
    assert _register(redis_client, keys, "exact", "  " + STORY.upper(), now=1001.0) == "orig"
    wire = "MOSCOW (Wire) - " + STORY + " Distributed by the Central Asia Wire service."
    assert _register(redis_client, keys, "wire", wire, now=1002.0) == "orig"
    assert _register(redis_client, keys, "other", OTHER, now=1003.0) is None
    # Registering the original again (a replay) does not make it a copy of anything.
    assert _register(redis_client, keys, "orig", STORY, now=1004.0) is None


def test_an_edit_of_the_same_article_is_not_its_own_duplicate(redis_client: Any, make_settings: Any) -> None:
    keys = Keys(make_settings().redis_prefix)
    assert _register(redis_client, keys, "a", STORY, now=1000.0) is None
    assert (
        _register(
            redis_client, keys, "a", STORY + " Correction: the committee meets in November.", now=2000.0
        )
        is None
    )


def test_originals_older_than_the_window_are_not_sought(redis_client: Any, make_settings: Any) -> None:
    keys = Keys(make_settings().redis_prefix)
    day = 86400.0
    assert _register(redis_client, keys, "old", STORY, now=0.0) is None
    near = "MOSCOW (Wire) - " + STORY
    assert _register(redis_client, keys, "late", near, now=10 * day, window=7 * day) is None


@pytest.mark.parametrize("high_bits", [False, True])
def test_the_distance_threshold_is_exact_on_all_64_bits(
    redis_client: Any, make_settings: Any, high_bits: bool
) -> None:
    """The script compares fingerprints in two 32-bit halves: a copy exactly at the threshold
    is found and one bit more is not, whichever half (and the sign bits) the flips fall in."""
    prefix = make_settings().redis_prefix
    base = 0xF0F0_F0F0_8000_0001 if high_bits else 0x0123_4567_89AB_CDEF
    # Flip bits spread over both halves, sign bits (63 and 31) first; one flip per band keeps
    # band 0 shared, so the original is a candidate whatever the distance.
    order = [63, 31, 62, 30, 56, 24, 48, 16, 40, 32, 12, 44, 20]
    if not high_bits:
        order = [b - 1 for b in order]
    flips = [b for b in order if b >= 8][: NEAR_DUPLICATE_MAX_DISTANCE + 1]

    def register(registry: str, doc_id: str, fingerprint: int, now: float) -> str | None:
        return register_and_find_original(
            redis_client,
            Keys(f"{prefix}:{registry}"),
            doc_id=doc_id,
            text_hash=doc_id,  # distinct texts: only the near-copy path can match
            simhash=fingerprint,
            bands=simhash_bands(fingerprint, SIMHASH_BANDS),
            max_distance=NEAR_DUPLICATE_MAX_DISTANCE,
            ttl_seconds=30 * 86400,
            window_seconds=7 * 86400,
            now=now,
        )

    def flipped(count: int) -> int:
        value = base
        for bit in flips[:count]:
            value ^= 1 << bit
        return value

    # two registries, each holding the original and one later copy
    for registry in ("at", "over"):
        assert register(registry, "original", base, now=1000.0) is None
    assert register("at", "copy", flipped(NEAR_DUPLICATE_MAX_DISTANCE), now=1001.0) == "original"
    assert register("over", "copy", flipped(NEAR_DUPLICATE_MAX_DISTANCE + 1), now=1001.0) is None
