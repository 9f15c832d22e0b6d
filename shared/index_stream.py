"""The index hop as a Redis Stream (lead). STUB until the lead's module lands in main.

Only the signatures ``shared.dispatch`` relies on; the real module replaces this file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis

from shared.keys import Keys


def publish(r: redis.Redis, keys: Keys, messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Append messages to the stream in one round trip; returns their entry ids."""
    raise NotImplementedError("shared.index_stream is the lead's; this is a placeholder")


def length(r: redis.Redis, keys: Keys) -> int:
    """Documents published and not yet settled (waiting plus held by an indexer)."""
    raise NotImplementedError("shared.index_stream is the lead's; this is a placeholder")
