"""Dispatch by task name: the one way any service hands a message to the next stage.

``Dispatcher.send(task, kwargs)`` / ``send_many(task, [kwargs, ...])``:

* a Celery task goes to its kombu queue (the app's routes: ``shared.messages.TASK_QUEUES``). ``send_many``
  publishes through kombu's producer batch, so N messages cost one pipelined Redis round
  trip, each still a normal Celery message (its own task id, headers, body);
* a task in :data:`STREAM_TASKS` goes to its Redis Stream instead (``shared.index_stream``).

``backlog(task)`` is the number waiting for a task's consumers, wherever they live: the
crawler's backpressure reads it, so an Elasticsearch outage reaches back to the crawler.

Errors are not caught here: a broker that refuses a message must fail the caller, whose
message then comes back (``shared.runner``), instead of being acknowledged as done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import redis
from celery import Celery

from shared import index_stream
from shared.keys import Keys
from shared.messages import TASK_QUEUES, TaskName

# Tasks carried by a Redis Stream rather than a Celery queue: the index hop (the indexer is
# a consumer-group process, services/indexer/consumer.py).
STREAM_TASKS: frozenset[str] = frozenset({TaskName.INDEX_DOCUMENT})

_STREAM_PUBLISH = {TaskName.INDEX_DOCUMENT: index_stream.publish}
_STREAM_LENGTH = {TaskName.INDEX_DOCUMENT: index_stream.length}

# Messages per pipelined flush: large enough that a listing's URLs go in one round trip.
_BATCH = 1000


class Sender(Protocol):
    """What a pure step needs to hand work on (``Dispatcher`` is the real one)."""

    def send(self, task: str, kwargs: dict[str, Any]) -> None: ...

    def send_many(self, task: str, kwargs_list: list[dict[str, Any]]) -> None: ...

    def backlog(self, task: str) -> int: ...


class Dispatcher:
    def __init__(
        self,
        celery: Celery,
        r: redis.Redis,
        keys: Keys,
        *,
        queues: Mapping[str, str] | None = None,
        stream_tasks: frozenset[str] | None = None,
        broker: redis.Redis | None = None,
    ) -> None:
        self._celery, self._r, self._keys = celery, r, keys
        self._broker = broker or r  # Celery's lists live in the broker's Redis (BROKER_URL)
        self._queues = queues if queues is not None else _app_queues(celery)
        self._streams = STREAM_TASKS if stream_tasks is None else stream_tasks

    def send(self, task: str, kwargs: dict[str, Any]) -> None:
        self.send_many(task, [kwargs])

    def send_many(self, task: str, kwargs_list: list[dict[str, Any]]) -> None:
        if not kwargs_list:
            return
        if task in self._streams:
            _STREAM_PUBLISH[task](self._r, self._keys, kwargs_list)
            return
        queue = self._queue(task)
        if len(kwargs_list) == 1:
            self._celery.send_task(task, kwargs=kwargs_list[0], queue=queue)
            return
        with self._celery.producer_or_acquire() as producer, producer.batch(max_size=_BATCH):
            for kwargs in kwargs_list:
                self._celery.send_task(task, kwargs=kwargs, queue=queue, producer=producer)

    def backlog(self, task: str) -> int:
        """Messages waiting for ``task``'s consumers (a stream's unsettled entries, or the
        length of its Celery queue)."""
        if task in self._streams:
            return _STREAM_LENGTH[task](self._r, self._keys)
        return int(self._broker.llen(self._keys.queue(self._queue(task))))

    def _queue(self, task: str) -> str:
        try:
            return self._queues[task]
        except KeyError:
            raise ValueError(f"no queue for task {task!r}: add it to shared.messages.TASK_QUEUES") from None


def _app_queues(celery: Celery) -> dict[str, str]:
    """Task name -> queue from the app's routes (``create_app`` builds them from TASK_QUEUES)."""
    routes = celery.conf.task_routes or {}
    queues = dict(TASK_QUEUES)
    if isinstance(routes, Mapping):
        queues.update(
            {name: r["queue"] for name, r in routes.items() if isinstance(r, Mapping) and "queue" in r}
        )
    return queues
