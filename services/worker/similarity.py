"""Near-duplicate fingerprints: 64-bit SimHash over word shingles, and LSH band keys.

Pure functions only; storing and looking up band keys in Redis is the caller's
job. Two texts are near-duplicates when the Hamming distance of their
fingerprints is at most :data:`NEAR_DUPLICATE_MAX_DISTANCE`.

Band keys: the 64 bits are cut into ``bands`` slices. If two fingerprints
differ in fewer than ``bands`` bits, at least one slice is identical
(pigeonhole), so looking up every band key finds every candidate within that
distance, and most candidates a little further apart. Pass
:data:`SIMHASH_BANDS` (measured) rather than relying on the default of 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import blake2b

import numpy as np

from services.worker.tokens import Tokens

SHINGLE_WORDS = 3
# Measured with scripts/eval_simhash.py on the 614 gold texts of 80+ words of
# extraction-dev (docs/extraction.md). Edited copies: one word changed p99 7;
# one sentence removed or added, or a wire header and footer added: median 5,
# p95 11-12; all four edits at once: median 9. All 188,191 pairs of different
# pages: p1 23, median 32; every pair closer than 15 was, on inspection, the
# same wire story or press release on two sites. At 10, 88% of edited copies
# (99% of one-word edits) are caught, there is a 5-bit margin to unrelated
# articles, and two independent fingerprints fall within 10 bits by chance with
# probability ~1e-8.
NEAR_DUPLICATE_MAX_DISTANCE = 10
# Recommended band count for LSH lookups. Pigeonhole guarantees only distances
# below ``bands``; measured, 8 bands of 8 bits let 96.7% of the edited copies
# above share a band (4 bands: 65%, 11 bands: 99.3% but 6-bit buckets, each
# holding 1/64 of all documents). 8 keeps buckets small (1/256 each).
SIMHASH_BANDS = 8

_BITS = 64
_MASK = (1 << _BITS) - 1
_DIGEST_BYTES = _BITS // 8


def simhash64(text: str) -> int:
    """SimHash of the lower-cased ``\\w+`` tokens' 3-word shingles; 0 for text without words."""
    return simhash_words(Tokens(text).words)


def simhash_words(words: Sequence[str]) -> int:
    """SimHash of already tokenised words (:attr:`Tokens.words <services.worker.tokens.Tokens.words>`).

    Each shingle (3 consecutive words joined by a space; the whole text when shorter) is hashed
    to 64 bits with blake2b (stable across processes, unlike ``hash()``); bit ``b`` of the result
    is set when more shingles have bit ``b`` set than clear. The bit counting runs in numpy:
    the digests form an ``n x 8`` byte matrix, unpacked into ``n x 64`` bits at once.
    """
    if not words:
        return 0
    if len(words) < SHINGLE_WORDS:
        shingles: Iterable[str] = [" ".join(words)]
    else:
        shingles = map(" ".join, zip(words, words[1:], words[2:], strict=False))
    digests = b"".join([blake2b(s.encode("utf-8"), digest_size=_DIGEST_BYTES).digest() for s in shingles])
    count = len(digests) // _DIGEST_BYTES
    # Digests are big-endian: reversing each row's bytes puts bit b of the value in column b.
    matrix = np.frombuffer(digests, dtype=np.uint8).reshape(count, _DIGEST_BYTES)[:, ::-1]
    ones = np.unpackbits(matrix, axis=1, bitorder="little").sum(axis=0, dtype=np.int64)
    # weight(b) = ones - zeros = 2 * ones - count; the bit is set when the weight is positive
    majority = np.packbits(2 * ones > count, bitorder="little")
    return int.from_bytes(majority.tobytes(), "little")


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit fingerprints."""
    return ((a ^ b) & _MASK).bit_count()


def is_near_duplicate(a: int, b: int, max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE) -> bool:
    return hamming(a, b) <= max_distance


def simhash_bands(value: int, bands: int = 4) -> list[str]:
    """Band keys ``"<index>:<hex>"`` of a fingerprint: 64 bits cut into ``bands`` slices.

    The index is part of the key so equal bit patterns in different slices do not
    collide. Slices differ in width by at most one bit when 64 is not a multiple.
    """
    if not 1 <= bands <= _BITS:
        raise ValueError(f"bands must be within 1..{_BITS}, got {bands}")
    value &= _MASK
    keys = []
    start = 0
    for index in range(bands):
        width = _BITS // bands + (1 if index < _BITS % bands else 0)
        part = value >> start & ((1 << width) - 1)
        keys.append(f"{index}:{part:0{(width + 3) // 4}x}")
        start += width
    return keys
