"""The one typed bundle of a process's clients, built once per process after the fork.

A task shell never builds a client: ``shared.runner`` asks :func:`process_deps` for this
process's ``Deps`` on the first message (after the prefork pool forked it, so no socket is
shared between processes), and tests build one directly with :meth:`Deps.build` against
the real test servers. Nothing here runs at import.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx
import redis
from celery import Celery

from shared.clients import make_elasticsearch, make_redis
from shared.deadletters import DeadLetters
from shared.delay import DelayQueue, Pump
from shared.dispatch import Dispatcher
from shared.errors import Reason
from shared.fetch import FetchOptions, make_http_client
from shared.keys import Keys
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


@dataclass
class Deps:
    settings: Settings
    redis: redis.Redis
    keys: Keys
    fetch_options: FetchOptions
    dispatcher: Dispatcher
    dead_letters: DeadLetters
    delay: DelayQueue
    _closers: list[object] = field(default_factory=list, repr=False)

    @classmethod
    def build(cls, settings: Settings, celery: Celery) -> Deps:
        r = make_redis(settings)
        keys = Keys(settings.redis_prefix)
        return cls(
            settings=settings,
            redis=r,
            keys=keys,
            fetch_options=FetchOptions.from_settings(settings),
            dispatcher=Dispatcher(celery, r, keys),
            dead_letters=DeadLetters(
                r,
                keys,
                max_entries=settings.dead_letters_max,
                max_age_seconds=settings.dead_letters_max_age_days * 86400,
            ),
            delay=DelayQueue(r, keys),
        )

    @cached_property
    def http(self) -> httpx.Client:
        """The pooled HTTP client (built on first use: the indexer never fetches)."""
        client = make_http_client(self.fetch_options)
        self._closers.append(client)
        return client

    @cached_property
    def es(self) -> Elasticsearch:
        """The Elasticsearch client (built on first use: the crawler never needs one)."""
        client = make_elasticsearch(self.settings)
        self._closers.append(client)
        return client

    def pump(self) -> Pump:
        """A delay pump sending due messages through this process's dispatcher."""
        return Pump(
            self.delay,
            self.dispatcher,
            poll_seconds=self.settings.delay_poll_seconds,
            lease_seconds=self.settings.delay_lease_seconds,
            on_malformed=self._keep_unsendable,
        )

    def _keep_unsendable(self, member: str) -> None:
        entry = _parse(member)
        kwargs = entry.get("kwargs")
        self.dead_letters.add(
            task=str(entry.get("task", "unknown")),
            kwargs=kwargs if isinstance(kwargs, dict) else {"raw": member[:2000]},
            reason=Reason.BAD_MESSAGE,
            error="delayed entry cannot be sent (malformed, or no route for its task)",
            attempts=0,
        )

    def close(self) -> None:
        for client in self._closers:
            client.close()  # type: ignore[attr-defined]
        self._closers.clear()
        self.redis.close()


def _parse(member: str) -> dict[str, Any]:
    try:
        value = json.loads(member)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_lock = threading.Lock()
_current: dict[int, tuple[int, Deps]] = {}  # id(celery app) -> (pid, deps)


def process_deps(celery: Celery) -> Deps:
    """This process's ``Deps`` for ``celery``'s service, built on first use after a fork."""
    pid = os.getpid()
    with _lock:
        held = _current.get(id(celery))
        if held is None or held[0] != pid:
            held = (pid, Deps.build(get_settings(), celery))
            _current[id(celery)] = held
        return held[1]
