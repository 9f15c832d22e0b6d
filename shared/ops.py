"""Operator commands that span services: ``status``, ``dlq`` and ``dlq-replay``.

python -m shared.ops status
python -m shared.ops dlq [-n 50] [--reason poison]
python -m shared.ops dlq-replay [--id ID ...] [--reason REASON]
"""

from __future__ import annotations

import argparse
import json
import sys

import redis
from elasticsearch import exceptions as es_exc

from shared import index_stream
from shared.clients import make_elasticsearch, make_redis
from shared.deadletters import DeadLetters
from shared.delay import DelayQueue
from shared.keys import Keys
from shared.messages import Queue
from shared.outcomes import read_counters
from shared.settings import get_settings


def queue_depths(r: redis.Redis, keys: Keys | str) -> dict[str, int]:
    """Celery queues, messages held unacknowledged, delayed messages, and the index stream
    (documents not yet settled)."""
    keys = Keys(keys) if isinstance(keys, str) else keys
    depths = {q: int(r.llen(keys.queue(q))) for q in (Queue.CRAWL, Queue.EXTRACT)}
    depths[Queue.INDEX] = index_stream.length(r, keys)
    depths["unacked"] = int(r.hlen(keys.unacked))
    depths["delayed"] = DelayQueue(r, keys).size()
    return depths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsflow-ops")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="queue depths, indexed documents, outcome counters")
    d = sub.add_parser("dlq", help="list dead letters")
    d.add_argument("-n", type=int, default=50)
    d.add_argument("--reason", default=None)
    rp = sub.add_parser("dlq-replay", help="re-send dead letters (all, one reason, or some ids)")
    rp.add_argument("--id", dest="ids", action="append", default=None)
    rp.add_argument("--reason", default=None)
    args = parser.parse_args(argv)

    settings = get_settings()
    r = make_redis(settings)
    keys = Keys(settings.redis_prefix)
    dead = DeadLetters(
        r,
        keys,
        max_entries=settings.dead_letters_max,
        max_age_seconds=settings.dead_letters_max_age_days * 86400,
    )
    if args.command == "status":
        print("queues:", json.dumps(queue_depths(r, keys)))
        try:
            count = make_elasticsearch(settings).count(index=settings.index_prefix)["count"]
        except (es_exc.ApiError, es_exc.TransportError) as exc:
            count = f"unavailable ({type(exc).__name__})"
        print("documents indexed:", count)
        print("dead letters:", dead.count())
        for name, value in read_counters(r, keys).items():
            print(f"  {name:<45} {value}")
    elif args.command == "dlq":
        entries = dead.list(args.n, reason=args.reason)
        total = dead.count(args.reason)
        print(f"{total} dead letters" + (f", first {len(entries)}:" if entries else ""))
        for entry in entries:
            print(json.dumps(entry, ensure_ascii=False)[:2000])
    else:
        n = dead.replay(ids=args.ids, reason=args.reason)
        print(f"replayed {n} dead letters (due now in the delay queue; a running service sends them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
