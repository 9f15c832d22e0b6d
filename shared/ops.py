"""Operator commands that span services: ``status``, ``dlq`` and ``dlq-replay``.

python -m shared.ops status
"""

from __future__ import annotations

import argparse
import json
import sys

import redis
from elasticsearch import exceptions as es_exc

from shared import index_stream
from shared.celery_app import create_app
from shared.clients import make_elasticsearch, make_redis
from shared.deadletter import list_dead_letters, replay_dead_letters
from shared.keys import Keys
from shared.messages import Queue
from shared.outcomes import read_counters
from shared.settings import get_settings


def queue_depths(r: redis.Redis, prefix: str) -> dict[str, int]:
    # kombu keeps each Celery queue as a Redis list under the broker's global key prefix;
    # the index hop is a stream (documents not yet settled).
    depths = {q: int(r.llen(f"{prefix}:celery:{q}")) for q in (Queue.CRAWL, Queue.EXTRACT)}
    depths[Queue.INDEX] = index_stream.length(r, Keys(prefix))
    return depths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsflow-ops")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="queue depths, indexed documents, outcome counters")
    d = sub.add_parser("dlq", help="list dead letters")
    d.add_argument("-n", type=int, default=50)
    sub.add_parser("dlq-replay", help="re-send every dead letter to its task")
    args = parser.parse_args(argv)

    settings = get_settings()
    r = make_redis(settings)
    keys = Keys(settings.redis_prefix)
    if args.command == "status":
        print("queues:", json.dumps(queue_depths(r, settings.redis_prefix)))
        try:
            count = make_elasticsearch(settings).count(index=settings.index_prefix)["count"]
        except (es_exc.ApiError, es_exc.TransportError) as exc:
            count = f"unavailable ({type(exc).__name__})"
        print("documents indexed:", count)
        print("dead letters:", r.llen(keys.dead_letters))
        for name, value in read_counters(r, keys).items():
            print(f"  {name:<45} {value}")
    elif args.command == "dlq":
        entries = list_dead_letters(r, keys, args.n)
        print(f"{r.llen(keys.dead_letters)} dead letters" + (f", first {len(entries)}:" if entries else ""))
        for entry in entries:
            print(json.dumps(entry, ensure_ascii=False)[:2000])
    else:
        n = replay_dead_letters(r, keys, create_app("ops", settings))
        print(f"replayed {n} dead letters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
