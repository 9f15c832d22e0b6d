"""Indexer throughput against a raw ``_bulk`` loop on the same node, in the same run.

    make bench            (starts the test servers)
    python scripts/bench_indexer.py --docs 5000

Three figures, documents per second, each the best of ``--rounds`` (taken in turns):
  raw _bulk      a bare loop of 500-document ``_bulk`` requests (the ceiling);
  write_batch    our write path in-process: realtime mget + planning + streaming_bulk;
  indexer        the real indexer process draining the index stream, filled at once once it
                 is ready (message decoding, validation, batching, outcomes, acks and all),
                 with its own and Elasticsearch's CPU per document (/proc/<pid>/stat);
then a trickle: documents published one by one at ``--trickle-rate`` into a running indexer,
with the bulks it took and Elasticsearch's CPU per document above the node's idle CPU.
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.indexer.templates import install_templates
from services.indexer.writer import write_batch
from shared import index_stream
from shared.clients import make_elasticsearch, make_redis
from shared.keys import Keys
from shared.messages import IndexDocument
from shared.outcomes import read_counters
from shared.settings import Settings
from tests.factories import make_document
from tests.service_processes import indexer_process, settings_env

WORDS = [
    "oil",
    "gas",
    "minister",
    "talks",
    "sanctions",
    "court",
    "verdict",
    "border",
    "trucks",
    "energy",
    "Moscow",
    "Astana",
    "Syria",
]


def documents(n: int, tag: str) -> list[dict[str, Any]]:
    rng = random.Random(42)
    docs = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(450))  # ~3 KB, a typical article
        docs.append(make_document(f"http://bench.test/{tag}/{i}.html", text=text, title=f"Bench article {i}"))
    return docs


def bench_raw(es: Any, index: str, docs: list[dict[str, Any]], chunk: int = 500) -> float:
    return _raw(es, index, docs, chunk, None)[0]


def _raw(
    es: Any, index: str, docs: list[dict[str, Any]], chunk: int, node: int | None
) -> tuple[float, float, float]:
    """docs/s, and CPU ms per document of this loop and of the node."""
    cpu0, es0, start = time.process_time(), cpu_seconds(node), time.perf_counter()
    for i in range(0, len(docs), chunk):
        ops = []
        for d in docs[i : i + chunk]:
            ops.append(json.dumps({"create": {"_index": index, "_id": d["id"]}}))
            ops.append(json.dumps({**d, "version": 1, "dedup_key": d["id"]}))
        es.bulk(operations="\n".join(ops) + "\n")
    rate = len(docs) / (time.perf_counter() - start)
    return rate, 1000 * (time.process_time() - cpu0) / len(docs), 1000 * (cpu_seconds(node) - es0) / len(docs)


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process so far (0 when unknown or gone)."""
    if pid is None:
        return 0.0
    with suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    return 0.0


def es_pid(elasticsearch_url: str) -> int | None:
    """The java process of a node started by deploy/local/elasticsearch.sh on this port."""
    port = elasticsearch_url.rstrip("/").rsplit(":", 1)[-1]
    state = Path(os.environ.get("NEWSFLOW_ES_STATE", "/var/tmp/newsflow-es")) / port / "es.pid"
    with suppress(OSError, ValueError):
        return int(state.read_text().strip())
    return None


@dataclass(frozen=True)
class Drain:
    rate: float  # docs/s, from the documents' own indexed_at stamps
    indexer_cpu_ms: float  # per document, the indexer process
    es_cpu_ms: float  # per document, the Elasticsearch node


@dataclass(frozen=True)
class Trickle:
    rate: float  # docs/s offered
    docs: int
    linger: float  # BULK_LINGER_SECONDS of the run
    bulks: int  # distinct indexed_at stamps: one per bulk write
    es_cpu_ms: float  # per document, the node's CPU during the trickle minus its idle CPU
    es_idle_ms_per_s: float
    indexer_cpu_ms: float  # per document


@dataclass(frozen=True)
class IndexerFigures:
    docs: int
    raw: float  # docs/s, best of the rounds
    raw_cpu_ms: tuple[float, float]  # per document, the loop and the node: least of the rounds
    write_batch: float  # docs/s, best of the rounds
    indexer: float  # docs/s, best of the rounds, the real process draining the stream
    rounds: int
    drain: Drain  # the round with the least CPU per document
    trickle: Trickle | None


def _stamps(es: Any, prefix: str, url_prefix: str) -> tuple[float, float, int, int]:
    """First and last indexed_at (s), documents of the first stamp, number of stamps."""
    es.indices.refresh(index=f"{prefix}-*")
    aggs = es.search(
        index=prefix,
        size=0,
        query={"prefix": {"url": url_prefix}},
        aggs={
            "first": {"min": {"field": "indexed_at"}},
            "last": {"max": {"field": "indexed_at"}},
            "stamps": {"cardinality": {"field": "indexed_at", "precision_threshold": 40000}},
        },
    )["aggregations"]
    first_ms = aggs["first"]["value"]
    first_batch = es.count(
        index=prefix,
        query={
            "bool": {"filter": [{"prefix": {"url": url_prefix}}, {"term": {"indexed_at": int(first_ms)}}]}
        },
    )["count"]
    return first_ms / 1000, aggs["last"]["value"] / 1000, int(first_batch), int(aggs["stamps"]["value"])


def _wait_created(r: Any, keys: Keys, total: int, timeout: float = 600) -> None:
    deadline = time.perf_counter() + timeout
    while read_counters(r, keys).get("index:created", 0) < total:
        if time.perf_counter() > deadline:
            raise SystemExit(f"indexer did not index {total} documents in {timeout:.0f} s")
        time.sleep(0.05)


def drain(
    settings: Settings, es: Any, r: Any, docs: list[dict[str, Any]], tag: str, node: int | None
) -> Drain:
    """The real indexer process draining ``docs`` published at once into the stream."""
    keys = Keys(settings.redis_prefix)
    created_before = read_counters(r, keys).get("index:created", 0)
    messages = [IndexDocument(document=d).model_dump(mode="json") for d in docs]
    with indexer_process(settings_env(settings), name="bench-indexer") as proc:
        cpu0, es0 = cpu_seconds(proc.pid), cpu_seconds(node)
        for i in range(0, len(messages), 1000):
            index_stream.publish(r, keys, messages[i : i + 1000])
        _wait_created(r, keys, created_before + len(docs))
        cpu, es_cpu = cpu_seconds(proc.pid) - cpu0, cpu_seconds(node) - es0
    # Timed by the documents' own stamps (one per bulk, taken before it is written), so the
    # first bulk is outside the span.
    first, last, first_batch, _ = _stamps(es, settings.index_prefix, f"http://bench.test/{tag}/")
    rate = (len(docs) - first_batch) / max(last - first, 1e-3)
    return Drain(rate, 1000 * cpu / len(docs), 1000 * es_cpu / len(docs))


def trickle(settings: Settings, es: Any, r: Any, node: int | None, *, rate: float, seconds: float) -> Trickle:
    """Documents published one by one at ``rate``/s (as workers publish them) into a running
    indexer: what Elasticsearch's CPU pays per document at a steady light load."""
    keys = Keys(settings.redis_prefix)
    n = int(rate * seconds)
    docs = documents(n, "trickle")
    created_before = read_counters(r, keys).get("index:created", 0)
    with indexer_process(settings_env(settings), name="bench-trickle") as proc:
        time.sleep(1.0)  # let the start-up settle before the idle baseline
        idle0, t0 = cpu_seconds(node), time.perf_counter()
        time.sleep(3.0)
        idle = (cpu_seconds(node) - idle0) / (time.perf_counter() - t0)
        cpu0, es0, start = cpu_seconds(proc.pid), cpu_seconds(node), time.perf_counter()
        for i, doc in enumerate(docs):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            index_stream.publish(r, keys, [IndexDocument(document=doc).model_dump(mode="json")])
        _wait_created(r, keys, created_before + n)
        elapsed = time.perf_counter() - start
        cpu, es_cpu = cpu_seconds(proc.pid) - cpu0, cpu_seconds(node) - es0
    *_, bulks = _stamps(es, settings.index_prefix, "http://bench.test/trickle/")
    marginal = max(0.0, es_cpu - idle * elapsed)
    return Trickle(
        rate, n, settings.bulk_linger_seconds, bulks, 1000 * marginal / n, 1000 * idle, 1000 * cpu / n
    )


def measure(
    settings: Settings,
    n_docs: int,
    *,
    rounds: int = 3,
    trickle_rate: float = 30.0,
    trickle_seconds: float = 15.0,
    es_process: int | None = None,
) -> IndexerFigures:
    """The figures against ``settings``' Elasticsearch and Redis (under its prefixes, removed
    afterwards). Raw loop, write_batch and the indexer process take turns round by round, so
    a busy neighbour slows them alike; each figure is the best of its rounds (the least
    disturbed one: the machine's capacity, not its neighbours' load)."""
    es = make_elasticsearch(settings)
    r = make_redis(settings)
    prefix = settings.index_prefix
    node = es_process or es_pid(settings.elasticsearch_url)
    install_templates(es, prefix)
    try:
        bench_raw(es, f"{prefix}-warmup", documents(1000, "warmup"))  # JIT, caches, connections
        raws, batches, drains = [], [], []
        for round_ in range(rounds):
            raws.append(_raw(es, f"{prefix}-raw{round_}", documents(n_docs, f"raw{round_}"), 500, node))
            docs = documents(n_docs, f"batch{round_}")
            start = time.perf_counter()
            for i in range(0, len(docs), settings.bulk_max_docs):
                write_batch(
                    es,
                    prefix,
                    docs[i : i + settings.bulk_max_docs],
                    datetime.now(UTC),
                    max_chunk_docs=settings.bulk_max_docs,
                    max_chunk_bytes=settings.bulk_max_bytes,
                )
            batches.append(len(docs) / (time.perf_counter() - start))
            drains.append(
                drain(settings, es, r, documents(n_docs, f"stream{round_}"), f"stream{round_}", node)
            )
        best = max(drains, key=lambda d: d.rate)
        slow = None
        if trickle_seconds > 0:
            slow = trickle(settings, es, r, node, rate=trickle_rate, seconds=trickle_seconds)
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
        for key in r.scan_iter(f"{settings.redis_prefix}:*"):
            r.delete(key)
    raw_cpu = min(raws, key=lambda x: x[1] + x[2])
    fewest = min(drains, key=lambda d: d.indexer_cpu_ms + d.es_cpu_ms)
    return IndexerFigures(
        n_docs,
        max(r[0] for r in raws),
        (raw_cpu[1], raw_cpu[2]),
        max(batches),
        best.rate,
        rounds,
        fewest,
        slow,
    )


def report(f: IndexerFigures) -> None:
    for line in report_lines(f):
        print(line)


def report_lines(f: IndexerFigures) -> list[str]:
    lines = [
        f"bulk throughput, {f.docs} documents of ~3 KB, one local node (docs/s, best of {f.rounds} rounds):",
        f"  raw _bulk loop        {f.raw:8.0f}",
        f"  write_batch           {f.write_batch:8.0f}  ({f.write_batch / f.raw:.0%} of raw)",
        f"  indexer (stream)      {f.indexer:8.0f}  ({f.indexer / f.raw:.0%} of raw; the process draining the stream)",
    ]
    return lines + cost_lines(f)


def cost_lines(f: IndexerFigures) -> list[str]:
    """CPU per document while draining and at a trickle."""
    loop, node = f.raw_cpu_ms
    lines = [
        f"CPU ms per document (least of the rounds): raw loop {loop:.2f} + Elasticsearch {node:.2f}; "
        f"indexer process {f.drain.indexer_cpu_ms:.2f} + Elasticsearch {f.drain.es_cpu_ms:.2f} "
        "(the indexer writes one bulk while it decodes and settles the next, so its ceiling on free "
        "cores is about 1 / the larger of its two figures)"
    ]
    if f.trickle is not None:
        t = f.trickle
        lines.append(
            f"trickle, {t.rate:.0f} docs/s for {t.docs} docs, BULK_LINGER_SECONDS={t.linger}: "
            f"{t.bulks} bulks ({t.docs / max(t.bulks, 1):.1f} docs each); CPU ms per document: "
            f"Elasticsearch {t.es_cpu_ms:.2f} (above its idle {t.es_idle_ms_per_s:.1f} ms/s), "
            f"indexer {t.indexer_cpu_ms:.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trickle-rate", type=float, default=30.0, help="docs/s offered one by one")
    parser.add_argument("--trickle-seconds", type=float, default=15.0, help="0 skips the trickle")
    parser.add_argument(
        "--linger", type=float, default=None, help="BULK_LINGER_SECONDS (default: the setting's)"
    )
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        redis_url=os.environ["NEWSFLOW_TEST_REDIS_URL"],
        elasticsearch_url=os.environ["NEWSFLOW_TEST_ELASTICSEARCH_URL"],
        redis_prefix=f"bench{tag}",
        index_prefix=f"bench{tag}-headlines",
        log_level="WARNING",
        **({} if args.linger is None else {"bulk_linger_seconds": args.linger}),
    )
    report(
        measure(
            settings,
            args.docs,
            rounds=args.rounds,
            trickle_rate=args.trickle_rate,
            trickle_seconds=args.trickle_seconds,
        )
    )


if __name__ == "__main__":
    main()
