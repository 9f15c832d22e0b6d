"""newsflow: the one operator command. The Makefile targets call it.

  newsflow status                         queues, oldest waiting item, dead letters, counters, sources
  newsflow search "putin syria" --topic energy --since 7d
  newsflow dlq [--reason R] [-n 50]       list dead letters
  newsflow dlq-replay --id ID... | --reason R | --all
  newsflow sources list | check [--offline]
  newsflow reindex --retag [--tagger-version V] [--dry-run]
  newsflow health [--every]               write per-source health to <INDEX_PREFIX>-sources

Settings come from the environment as everywhere (``shared.settings``).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import click
import redis
from elasticsearch import Elasticsearch, helpers
from elasticsearch import exceptions as es_exc

from shared import metrics
from shared.clients import make_broker_redis, make_elasticsearch, make_redis
from shared.deadletters import DeadLetters
from shared.dispatch import Dispatcher
from shared.fetch import FetchOptions, fetch, make_http_client
from shared.keys import Keys
from shared.logging import configure_logging
from shared.messages import TaskName
from shared.outcomes import read_counters
from shared.preflight import ConfigurationError, check_contact, fetched_hosts
from shared.queues import QueueProbe
from shared.search import SearchRequest, search
from shared.settings import Settings, get_settings
from shared.source_health import render_table, source_health, write_health
from shared.sources import Source, SourcesError, load_sources

RETAG_TASK = TaskName.RETAG_DOCUMENT
SOURCES_SUFFIX = "sources"  # <INDEX_PREFIX>-sources, as services/indexer/templates.py names it


class _Context:
    """Clients built on first use, once per command."""

    def __init__(self) -> None:
        self.settings: Settings = get_settings()
        self.keys = Keys(self.settings.redis_prefix)
        self._redis: redis.Redis | None = None
        self._broker: redis.Redis | None = None
        self._es: Elasticsearch | None = None

    @property
    def r(self) -> redis.Redis:
        if self._redis is None:
            self._redis = make_redis(self.settings)
        return self._redis

    @property
    def broker(self) -> redis.Redis:
        if self._broker is None:
            self._broker = make_broker_redis(self.settings) if self.settings.broker_url else self.r
        return self._broker

    @property
    def es(self) -> Elasticsearch:
        if self._es is None:
            self._es = make_elasticsearch(self.settings)
        return self._es

    def sources(self) -> dict[str, Source]:
        try:
            return load_sources(self.settings.sources_file)
        except SourcesError as exc:
            raise click.ClickException(str(exc)) from exc

    def sources_or_empty(self) -> dict[str, Source]:
        try:
            return load_sources(self.settings.sources_file)
        except SourcesError:
            return {}

    def health_rows(self) -> list[Any]:
        return source_health(
            self.r,
            self.keys,
            self.es,
            self.settings.index_prefix,
            self.sources_or_empty(),
            silence_floor_seconds=self.settings.poll_max_seconds,
        )


pass_ctx = click.make_pass_decorator(_Context, ensure=True)


@click.group(help=__doc__.split("\n\n", 1)[0])
@click.pass_context
def main(ctx: click.Context) -> None:
    ctx.obj = _Context()
    configure_logging(ctx.obj.settings, "cli")


# --- status --------------------------------------------------------------------------------


@main.command(help="Queues, the oldest waiting item, dead letters, outcome counters and per-source health.")
@click.option("--json", "as_json", is_flag=True, help="one JSON object instead of tables")
@pass_ctx
def status(c: _Context, as_json: bool) -> None:
    reading = QueueProbe(c.broker, c.r, c.keys).read()
    try:
        documents: int | str = int(c.es.count(index=c.settings.index_prefix)["count"])
    except es_exc.NotFoundError:
        documents = "0 (no index yet: the setup step or the indexer creates it)"
    except (es_exc.ApiError, es_exc.TransportError) as exc:
        documents = f"unavailable ({type(exc).__name__})"
    counters = read_counters(c.r, c.keys)
    rows = c.health_rows()
    if as_json:
        doc = {
            **reading,
            "documents": documents,
            "counters": counters,
            "sources": [r.document() for r in rows],
        }
        click.echo(json.dumps(doc, default=str))
        return
    click.echo("queue        waiting  oldest   pending  lag")
    for name, q in reading["queues"].items():
        pending = q.get("pending")
        lag = q.get("lag")
        click.echo(
            f"{name:<12} {q['length']:>7}  {q['oldest_age_seconds']:>6.0f}s"
            f"  {'-' if pending is None else pending:>7}  {'-' if lag is None else lag}"
        )
    click.echo(f"held by workers (unacknowledged): {reading['unacked']}")
    delayed = reading["delayed"]
    click.echo(f"delayed: {delayed['items']} (most overdue {delayed['overdue_seconds']:.0f}s)")
    click.echo(f"dead letters: {reading['dead_letters']}")
    click.echo(f"documents indexed: {documents}")
    click.echo("outcomes:")
    for name, value in counters.items():
        click.echo(f"  {name:<45} {value}")
    click.echo("sources:")
    click.echo(render_table(rows))


# --- search --------------------------------------------------------------------------------


@main.command("search", help="Full-text search of the headline index.")
@click.argument("text", required=False, default="")
@click.option("--topic", multiple=True, help="topic label or QCode (repeatable)")
@click.option("--place", multiple=True, help="ISO country code (repeatable)")
@click.option("--since", help="7d, 12h, 30m or an ISO date")
@click.option("--until", help="7d, 12h, 30m or an ISO date")
@click.option("--source", help="source id")
@click.option("-n", "--size", type=int, default=10, show_default=True)
@click.option("--all-copies", is_flag=True, help="do not collapse duplicates")
@click.option("--json", "as_json", is_flag=True, help="hits as JSON lines")
@pass_ctx
def search_command(
    c: _Context,
    text: str,
    topic: tuple[str, ...],
    place: tuple[str, ...],
    since: str | None,
    until: str | None,
    source: str | None,
    size: int,
    all_copies: bool,
    as_json: bool,
) -> None:
    req = SearchRequest(
        text=text,
        topics=list(topic),
        places=list(place),
        since=since,
        until=until,
        source=source,
        size=size,
        collapse_duplicates=not all_copies,
    )
    total, hits = search(c.es, c.settings.index_prefix, req)
    if as_json:
        for hit in hits:
            click.echo(json.dumps(hit.__dict__, ensure_ascii=False))
        return
    click.echo(f"{total} matching articles")
    for rank, hit in enumerate(hits, 1):
        click.echo(f"{rank:>2}. {hit.published_at[:16]}  {hit.title}")
        click.echo(f"    {hit.url}")
        if hit.topics or hit.places:
            click.echo(f"    topics: {', '.join(hit.topics) or '-'}   places: {', '.join(hit.places) or '-'}")
        if hit.snippet:
            click.echo(f"    … {hit.snippet} …")


# --- dead letters --------------------------------------------------------------------------


def _registry(c: _Context) -> DeadLetters:
    return DeadLetters(
        c.r,
        c.keys,
        max_entries=c.settings.dead_letters_max,
        max_age_seconds=c.settings.dead_letters_max_age_days * 86400,
    )


@main.command(help="List dead letters (oldest last failure first).")
@click.option("--reason", help="only this reason code")
@click.option("-n", "limit", type=int, default=50, show_default=True)
@pass_ctx
def dlq(c: _Context, reason: str | None, limit: int) -> None:
    registry = _registry(c)
    entries = registry.list(limit, reason=reason)
    total = registry.count(reason) if reason else registry.count()
    click.echo(
        f"{total} dead letters"
        + (f" ({reason})" if reason else "")
        + (f", first {len(entries)}:" if entries else "")
    )
    for entry in entries:
        click.echo(json.dumps(entry, ensure_ascii=False, default=str)[:2000])


@main.command("dlq-replay", help="Send dead letters again: by id, by reason, or all of them.")
@click.option("--id", "ids", multiple=True, help="entry id (repeatable)")
@click.option("--reason", help="every entry of this reason code")
@click.option("--all", "replay_all", is_flag=True, help="every entry")
@pass_ctx
def dlq_replay(c: _Context, ids: tuple[str, ...], reason: str | None, replay_all: bool) -> None:
    chosen = sum((bool(ids), reason is not None, replay_all))
    if chosen != 1:
        raise click.UsageError("give exactly one of --id, --reason or --all")
    registry = _registry(c)
    if ids:
        n = registry.replay(ids=list(ids))
    elif reason is not None:
        n = registry.replay(reason=reason)
    else:
        n = registry.replay()
    click.echo(f"replayed {n} dead letters (due now on the delay queue; a running service sends them)")


# --- sources -------------------------------------------------------------------------------


@main.group(help="The sources file (SOURCES_FILE).")
def sources() -> None:
    pass


@sources.command("list", help="Every source with its feeds, sitemaps, sections and poll bounds.")
@pass_ctx
def sources_list(c: _Context) -> None:
    rows = [("id", "name", "home_url", "feeds", "sitemaps", "sections", "poll s")]
    for s in c.sources().values():
        bounds = f"{s.min_poll_seconds or c.settings.poll_min_seconds:g}-{s.max_poll_seconds or c.settings.poll_max_seconds:g}"
        rows.append(
            (
                s.id,
                s.name,
                s.home_url,
                str(len(s.feeds)) if s.feeds else ("discover" if s.needs_discovery else "0"),
                str(len(s.sitemaps)),
                str(len(s.sections)),
                bounds,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@sources.command("check", help="Validate the file and CONTACT_URL; fetch each home page (unless --offline).")
@click.option("--offline", is_flag=True, help="do not fetch anything")
@pass_ctx
def sources_check(c: _Context, offline: bool) -> None:
    found = c.sources()
    click.echo(f"{c.settings.sources_file}: {len(found)} sources, valid")
    failed = 0
    try:
        check_contact(c.settings, {h for s in found.values() for h in fetched_hosts(s)})
        click.echo("CONTACT_URL: ok")
    except ConfigurationError as exc:
        click.echo(f"CONTACT_URL: {exc}", err=True)
        failed += 1
    if not offline:
        options = FetchOptions.from_settings(c.settings)
        with make_http_client(options) as client:
            for s in found.values():
                start = time.monotonic()
                try:
                    result = fetch(client, s.home_url, options)
                    click.echo(
                        f"  {s.id:<20} HTTP {result.status}  {time.monotonic() - start:.1f}s  {result.final_url}"
                    )
                except Exception as exc:  # report every source, whatever went wrong
                    failed += 1
                    reason = getattr(exc, "reason", type(exc).__name__)
                    click.echo(f"  {s.id:<20} FAILED {reason}: {str(exc)[:120]}")
    if failed:
        raise SystemExit(1)


# --- reindex -------------------------------------------------------------------------------


def _newest_tagger_version(es: Elasticsearch, alias: str) -> str | None:
    result = es.search(index=alias, size=0, aggs={"v": {"terms": {"field": "tagger_version", "size": 1000}}})
    versions = [b["key"] for b in result["aggregations"]["v"]["buckets"]]

    def order(v: str) -> tuple[Any, ...]:
        return tuple(int(p) if p.isdigit() else p for p in v.replace("-", ".").split("."))

    return max(versions, key=order) if versions else None


def _stale(es: Elasticsearch, alias: str, current: str) -> Iterator[dict[str, str]]:
    query = {"bool": {"must_not": [{"term": {"tagger_version": current}}]}}
    for hit in helpers.scan(es, index=alias, query={"query": query, "_source": False}, size=500):
        yield {"doc_id": hit["_id"], "index": hit["_index"]}


def _sender(c: _Context) -> Dispatcher:
    """core's Dispatcher: by task name, one pipelined round trip per batch."""
    from shared.celery_app import create_app

    return Dispatcher(create_app("cli", c.settings), c.r, c.keys)


@main.command(help="Re-tag stored articles whose tagger_version is not the current one.")
@click.option(
    "--retag", is_flag=True, required=True, help="send worker.retag_document for each stale article"
)
@click.option("--tagger-version", help="the current version (default: the newest one in the index)")
@click.option("--dry-run", is_flag=True, help="count only")
@click.option("--batch", type=int, default=500, show_default=True)
@pass_ctx
def reindex(c: _Context, retag: bool, tagger_version: str | None, dry_run: bool, batch: int) -> None:
    alias = c.settings.index_prefix
    current = tagger_version or _newest_tagger_version(c.es, alias)
    if current is None:
        click.echo("no articles indexed; nothing to retag")
        return
    click.echo(f"current tagger_version: {current}")
    sender = None if dry_run else _sender(c)
    sent = 0
    pending: list[dict[str, str]] = []
    for message in _stale(c.es, alias, current):
        pending.append(message)
        if len(pending) >= batch:
            if sender is not None:
                sender.send_many(RETAG_TASK, pending)
            sent += len(pending)
            pending = []
    if pending:
        if sender is not None:
            sender.send_many(RETAG_TASK, pending)
        sent += len(pending)
    click.echo(f"{'would send' if dry_run else 'sent'} {sent} {RETAG_TASK} messages")


# --- health --------------------------------------------------------------------------------


@main.command(help="Write per-source health to <INDEX_PREFIX>-sources (and serve the cluster gauges).")
@click.option("--every", is_flag=True, help="keep writing every HEALTH_INTERVAL_SECONDS until stopped")
@pass_ctx
def health(c: _Context, every: bool) -> None:
    index = f"{c.settings.index_prefix}-{SOURCES_SUFFIX}"
    probe = QueueProbe(c.broker, c.r, c.keys)
    metrics.start_metrics(
        "health",
        c.settings.metrics_port,
        bind=c.settings.metrics_bind,
        base_dir=c.settings.metrics_dir,
        collectors=[metrics.ClusterCollector(probe.read)],
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        try:
            n = write_health(c.es, index, c.health_rows())
            click.echo(f"{datetime.now(UTC):%H:%M:%S} wrote health of {n} sources to {index}")
        except (es_exc.ApiError, es_exc.TransportError, redis.RedisError) as exc:
            click.echo(f"health: {type(exc).__name__}: {str(exc)[:200]}", err=True)
            if not every:
                raise SystemExit(1) from exc
        if not every or stop.wait(c.settings.health_interval_seconds):
            return


if __name__ == "__main__":
    sys.exit(main())
