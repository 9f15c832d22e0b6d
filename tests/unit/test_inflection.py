# ruff: noqa: RUF003  (Cyrillic letters are meant)
"""Kazakh and Kyrgyz inflection: the stems a word form is peeled back to."""

from __future__ import annotations

from services.worker.inflection import MIN_STEM, stems


def test_case_possessive_and_plural_come_off_in_turn() -> None:
    # Kyrgyz: өкмөт (government) + ү (its) + нүн (of).
    assert "өкмөт" in stems("өкмөтүнүн")
    # Kyrgyz: жаран (citizen) + дар (plural) + дын (of).
    found = stems("жарандардын")
    assert found.index("жарандар") < found.index("жаран")  # the nearer form first
    # Kazakh: қала (city) + сы (its) + нда (in); үкімет + і + нің.
    assert "қала" in stems("қаласында")
    assert "үкімет" in stems("үкіметінің")
    # The attributive -дагы (the one in ...); "-ндагы" (after a possessive) is tried too, and
    # "кыргызста" is then looked up in vain.
    assert {"кыргызстан", "кыргызста"} <= set(stems("кыргызстандагы"))


def test_short_stems_and_unsuffixed_words_are_left_alone() -> None:
    assert stems("алмазбек") == ()  # a name that ends in no suffix
    assert "соту" in stems("сотуна")  # сот + у + на: "сот" would be under MIN_STEM letters
    assert all(len(s) >= MIN_STEM for s in stems("сотуна"))
    assert stems("дастан") == ()  # "-тан" would leave three letters
    assert stems("") == ()
