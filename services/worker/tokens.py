# ruff: noqa: RUF001, RUF002  (Cyrillic letters and typographic apostrophes are meant)
"""An article's text, tokenised once and read by every analysis that needs words.

Two views, each computed on first use by one C-level regex pass over the text and then
cached on the object, so SimHash, places and the topic model never tokenise the same text
again:

* :attr:`Tokens.words`: the lower-cased ``\\w+`` runs (letters, digits, underscore), in
  order. SimHash shingles these (:func:`services.worker.similarity.simhash_words`); a topic
  model can use them as its features.
* :attr:`Tokens.spelled`: words as written, for case-sensitive matching (place names,
  "Labour" the party): runs of letters, joined across one inner apostrophe or hyphen
  ("Guinea-Bissau", "O'Neill"), and dotted capital abbreviations ("U.S."), together with the
  separators between them. :attr:`Tokens.spelled_lower` is the same words lower-cased with
  ``ё`` read as ``е``.

The two views differ by definition (digits are words for SimHash, never part of a name), so
neither is derived from the other; what is shared is the object, built once per text.
"""

from __future__ import annotations

import re
from functools import cached_property

_WORD_RE = re.compile(r"\w+")
# Capturing, so re.split keeps the words: [gap0, word0, gap1, word1, ..., gapN].
_SPELLED_RE = re.compile(r"((?:[A-Z]\.){2,}|[^\W\d_]+(?:['’-][^\W\d_]+)*)")
_JOIN = "\x00"  # never produced by str.lower(), never inside a word


class Tokens:
    """The token views of one text; cheap to create, each view built on first use."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def words(self) -> list[str]:
        """Lower-cased ``\\w+`` runs of the text, in order."""
        return _WORD_RE.findall(self.text.lower())

    @cached_property
    def _split(self) -> list[str]:
        return _SPELLED_RE.split(self.text)

    @cached_property
    def spelled(self) -> list[str]:
        """Words as written: letters with inner ``'``/``’``/``-``, or an abbreviation like "U.S."."""
        return self._split[1::2]

    @cached_property
    def gaps(self) -> list[str]:
        """``gaps[i]`` is the text between word ``i - 1`` (or the start) and word ``i``."""
        return self._split[0::2]

    @cached_property
    def spelled_lower(self) -> list[str]:
        """:attr:`spelled`, lower-cased, with ``ё`` as ``е``."""
        if not self.spelled:
            return []
        # One C-level lower() over all words instead of one call per word.
        return _JOIN.join(self.spelled).lower().replace("ё", "е").split(_JOIN)
