"""The cross-worker duplicate registry in Redis: exact copies and near copies (SimHash).

* exact: ``SET content:<hash> <doc_id> NX GET`` — the first article with this text owns it;
* near: the 64-bit SimHash is cut into bands; each band value keys a sorted set of
  ``doc_id:simhash`` scored by first-seen time. Texts within the distance threshold share a
  band with high probability (97% of edited copies with 8 bands, docs/extraction.md), so
  candidates come from a few sets, read newest first within the window, and the oldest
  candidate within the threshold is the original.

One Lua script does it all, atomically, in one round trip.
"""

from __future__ import annotations

import time

import redis

from shared.keys import Keys

# Syndicated copies follow their original within days; looking at the newest members of a
# bucket bounds the work per article however large the corpus grows.
_MAX_CANDIDATES_PER_BAND = 1000

# One round trip, and the candidates never leave Redis: at scale a band holds up to
# _MAX_CANDIDATES_PER_BAND members, so reading 8 bands into Python cost thousands of parsed
# replies per article. Atomic, so two copies registering at once can no longer both be
# originals. Hamming distance on two 32-bit halves (Lua's bit library is 32-bit).
# KEYS: content key, then one key per band. ARGV: doc_id, fingerprint as 16 hex digits ("" for
# none), now, window seconds, ttl seconds, max distance, max candidates per band.
_REGISTER = """
local doc, fp = ARGV[1], ARGV[2]
local now, window, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local max_distance, max_candidates = tonumber(ARGV[6]), tonumber(ARGV[7])
local previous = redis.call('SET', KEYS[1], doc, 'NX', 'GET', 'EX', ttl)
if previous and previous ~= doc then return previous end
if fp == '' then return false end
local function ones(x)
  local n = 0
  while x ~= 0 do x = bit.band(x, x - 1); n = n + 1 end
  return n
end
local hi, lo = tonumber(string.sub(fp, 1, 8), 16), tonumber(string.sub(fp, 9, 16), 16)
local first_seen = now
local matches = {}
for i = 2, #KEYS do
  local found = redis.call('ZREVRANGEBYSCORE', KEYS[i], '+inf', now - window, 'WITHSCORES',
                           'LIMIT', 0, max_candidates)
  for j = 1, #found, 2 do
    local member, score = found[j], tonumber(found[j + 1])
    local cut = string.find(member, ':[^:]*$')
    if cut then
      local other, hash = string.sub(member, 1, cut - 1), string.sub(member, cut + 1)
      if other == doc then
        if score < first_seen then first_seen = score end
      elseif #hash == 16 then
        local d = ones(bit.bxor(hi, tonumber(string.sub(hash, 1, 8), 16)))
          + ones(bit.bxor(lo, tonumber(string.sub(hash, 9, 16), 16)))
        if d <= max_distance then matches[#matches + 1] = {score, other} end
      end
    end
  end
end
-- Only an article seen before this one can be its original: a replay of the original must
-- not turn it into a copy of its own later copies. The oldest wins (then the smallest id).
local best_score, best = nil, false
for _, m in ipairs(matches) do
  if m[1] < first_seen and (best_score == nil or m[1] < best_score
                            or (m[1] == best_score and m[2] < best)) then
    best_score, best = m[1], m[2]
  end
end
local entry = doc .. ':' .. fp
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], 'NX', now, entry)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - ttl)  -- buckets never outgrow the horizon
  redis.call('EXPIRE', KEYS[i], ttl)
end
return best
"""


def register_and_find_original(
    r: redis.Redis,
    keys: Keys,
    *,
    doc_id: str,
    text_hash: str,
    simhash: int | None,
    bands: list[str],
    max_distance: int,
    ttl_seconds: int,
    window_seconds: float,
    now: float | None = None,
) -> str | None:
    """Record this article and return the id of the article it copies, if any (one atomic
    script: the exact-copy claim, every band's candidates within the window, the band
    entries)."""
    now = time.time() if now is None else now
    band_keys = [keys.simhash_band(i, band) for i, band in enumerate(bands)] if simhash is not None else []
    original = r.register_script(_REGISTER)(
        keys=[keys.content(text_hash), *band_keys],
        args=[
            doc_id,
            f"{simhash:016x}" if simhash is not None else "",
            repr(now),
            repr(float(window_seconds)),
            int(ttl_seconds),
            int(max_distance),
            _MAX_CANDIDATES_PER_BAND,
        ],
    )
    return str(original) if original else None
