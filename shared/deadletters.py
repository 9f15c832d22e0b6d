"""The dead-letter registry: messages we gave up on, each addressable, bounded, replayable.

Modelled on rq's ``FailedJobRegistry``. One entry per message (its id is a hash of the task
and its replayable kwargs, so the same message failing again updates its entry instead of
adding one), stored as a Redis hash:

    task, kwargs (JSON, retry counters reset), reason, attempts, failures,
    first_failure, last_failure (epoch seconds), error (truncated)

plus an index sorted by last failure and one index per reason. Operations:

* ``add(...) -> id``; ``get(id)``; ``list(limit, reason=None)`` (oldest first); ``count()``;
* ``replay(ids=None, reason=None) -> int``: one Lua script moves the chosen entries into
  the delay queue, due now, and deletes them, so there is no pop-then-send gap in which a
  crash loses an entry; a pump (every service runs one) sends them on.

Bounds (Sidekiq's dead set does the same): at most ``max_entries`` entries and none older
than ``max_age_seconds``. ``add`` drops the oldest beyond either bound, counts them in the
outcome counters (``deadletters:dropped``) and logs ``dead_letters_dropped``: the store can
never fill Redis, and what it lost is visible.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis
import structlog

from shared.errors import Reason
from shared.keys import Keys
from shared.logging import truncate
from shared.messages import DELIVERY_FIELDS

log = structlog.get_logger(__name__)

DROPPED_COUNTER = "deadletters:dropped"

# Key names below are derived in the scripts from ARGV prefixes (one Redis, no cluster).
_DROP = """
local function drop(id)
  local reason = redis.call('HGET', ARGV[2] .. id, 'reason')
  if reason then redis.call('ZREM', ARGV[3] .. reason, id) end
  redis.call('DEL', ARGV[2] .. id)
  redis.call('ZREM', KEYS[1], id)
end
"""

# KEYS[1] index, KEYS[2] counters hash; ARGV[1] id, ARGV[2] entry key prefix, ARGV[3] reason
# index prefix, ARGV[4] now, ARGV[5] max entries, ARGV[6] max age seconds, ARGV[7] counter
# field, ARGV[8..] field/value pairs. Returns how many old entries were dropped.
_ADD = (
    _DROP
    + """
local id, now = ARGV[1], tonumber(ARGV[4])
local key = ARGV[2] .. id
local old_reason = redis.call('HGET', key, 'reason')
local fields = {}
for i = 8, #ARGV, 2 do fields[ARGV[i]] = ARGV[i + 1] end
if old_reason and old_reason ~= fields['reason'] then redis.call('ZREM', ARGV[3] .. old_reason, id) end
redis.call('HSETNX', key, 'first_failure', ARGV[4])
redis.call('HINCRBY', key, 'failures', 1)
for i = 8, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[1], ARGV[4], id)
redis.call('ZADD', ARGV[3] .. fields['reason'], ARGV[4], id)
local dropped = 0
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[6])))
for _, victim in ipairs(old) do drop(victim); dropped = dropped + 1 end
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if over > 0 then
  for _, victim in ipairs(redis.call('ZRANGE', KEYS[1], 0, over - 1)) do drop(victim); dropped = dropped + 1 end
end
if dropped > 0 then redis.call('HINCRBY', KEYS[2], ARGV[7], dropped) end
return dropped
"""
)

# KEYS[1] index, KEYS[2] delayed set; ARGV[1] mode (all|reason|ids), ARGV[2] entry key prefix,
# ARGV[3] reason index prefix, ARGV[4] reason (mode reason), ARGV[5..] ids (mode ids).
# Each entry becomes a delay-queue member (shared.delay.encode_entry's shape, built here from
# the stored JSON text so kwargs are never re-encoded), due now on the Redis clock.
_REPLAY = (
    _DROP
    + """
local ids
if ARGV[1] == 'all' then ids = redis.call('ZRANGE', KEYS[1], 0, -1)
elseif ARGV[1] == 'reason' then ids = redis.call('ZRANGE', ARGV[3] .. ARGV[4], 0, -1)
else ids = {} for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end end
local t = redis.call('TIME')
local now = string.format('%d.%06d', t[1], t[2])
local moved = 0
for n, id in ipairs(ids) do
  local e = redis.call('HMGET', ARGV[2] .. id, 'task', 'kwargs')
  if e[1] and e[2] then
    local member = '{"id":' .. cjson.encode(id .. '-' .. now .. '-' .. n) .. ',"task":'
      .. cjson.encode(e[1]) .. ',"kwargs":' .. e[2] .. '}'
    redis.call('ZADD', KEYS[2], now, member)
    drop(id)
    moved = moved + 1
  end
end
return moved
"""
)


def _replayable(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The message as a replay sends it: a fresh retry budget and no stale booking."""
    return {k: v for k, v in kwargs.items() if k not in DELIVERY_FIELDS}


def entry_id(task: str, kwargs: Mapping[str, Any]) -> str:
    canonical = json.dumps([task, _replayable(kwargs)], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=10).hexdigest()


class DeadLetters:
    def __init__(
        self, r: redis.Redis, keys: Keys, *, max_entries: int = 10_000, max_age_seconds: float = 30 * 86400
    ) -> None:
        self._r, self._keys = r, keys
        self._max_entries, self._max_age = max_entries, max_age_seconds
        self._entry_prefix = keys.dead_letter("")
        self._reason_prefix = keys.dead_letter_reason("")
        self._add = r.register_script(_ADD)
        self._replay = r.register_script(_REPLAY)

    def add(
        self,
        *,
        task: str,
        kwargs: Mapping[str, Any],
        reason: Reason,
        error: object,
        attempts: int,
        now: float | None = None,
    ) -> str:
        """Keep ``task(**kwargs)``; returns the entry id (the same for the same message)."""
        replayable = _replayable(kwargs)
        eid = entry_id(task, replayable)
        fields = {
            "task": task,
            "kwargs": json.dumps(replayable, separators=(",", ":"), default=str),
            "reason": str(reason),
            "attempts": str(attempts),
            "last_failure": repr(time.time() if now is None else now),
            "error": truncate(error),
        }
        stamp = float(fields["last_failure"])
        args: list[Any] = [
            eid,
            self._entry_prefix,
            self._reason_prefix,
            repr(stamp),
            self._max_entries,
            self._max_age,
            DROPPED_COUNTER,
        ]
        for name, value in fields.items():
            args += [name, value]
        dropped = int(self._add(keys=[self._keys.dead_letter_index, self._keys.counters], args=args))
        if dropped:
            log.warning(
                "dead_letters_dropped",
                dropped=dropped,
                max_entries=self._max_entries,
                max_age_seconds=self._max_age,
                policy="drop_oldest",
            )
        return eid

    def get(self, eid: str) -> dict[str, Any] | None:
        raw: dict[str, str] = self._r.hgetall(self._keys.dead_letter(eid))
        return _entry(eid, raw) if raw else None

    def list(self, limit: int = 100, reason: Reason | str | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` entries, oldest last failure first, optionally of one reason."""
        index = self._keys.dead_letter_index if reason is None else self._keys.dead_letter_reason(str(reason))
        ids: list[str] = self._r.zrange(index, 0, max(0, limit - 1))
        if not ids:
            return []
        pipe = self._r.pipeline(transaction=False)
        for eid in ids:
            pipe.hgetall(self._keys.dead_letter(eid))
        return [_entry(eid, raw) for eid, raw in zip(ids, pipe.execute(), strict=True) if raw]

    def count(self, reason: Reason | str | None = None) -> int:
        index = self._keys.dead_letter_index if reason is None else self._keys.dead_letter_reason(str(reason))
        return int(self._r.zcard(index))

    def replay(self, ids: Sequence[str] | None = None, reason: Reason | str | None = None) -> int:
        """Move entries (the given ids, one reason's, or all) to the delay queue, due now,
        atomically; returns how many moved. A running pump then sends them."""
        if ids is not None:
            mode, args = "ids", ["", *ids]
        elif reason is not None:
            mode, args = "reason", [str(reason)]
        else:
            mode, args = "all", [""]
        keys = [self._keys.dead_letter_index, self._keys.delayed]
        return int(self._replay(keys=keys, args=[mode, self._entry_prefix, self._reason_prefix, *args]))


def _entry(eid: str, raw: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": eid,
        "task": raw.get("task"),
        "kwargs": json.loads(raw.get("kwargs") or "{}"),
        "reason": raw.get("reason"),
        "attempts": int(raw.get("attempts") or 0),
        "failures": int(raw.get("failures") or 0),
        "first_failure": float(raw.get("first_failure") or 0),
        "last_failure": float(raw.get("last_failure") or 0),
        "error": raw.get("error", ""),
    }
