"""The index layout: index names, templates and the read alias, installed idempotently.

Layout (``<p>`` is ``settings.index_prefix``, e.g. ``headlines``):

* one index per **publication year**, ``<p>-2025``: the index of an article is a pure
  function of its ``published_at`` (:func:`index_for`), never of the clock, so a re-crawl,
  an edit or a replay years later lands on the same index and ``_id`` (one article, one
  index; an edit replaces it in place);
* component templates ``<p>-settings``, ``<p>-mappings`` and, where the cluster has the
  ``analysis-common`` module, ``<p>-languages`` (English/Russian stemming subfields);
* the index template ``<p>`` for ``<p>-*`` composed of them, which also puts every yearly
  index behind the alias ``<p>`` (what search, Kibana and the CLI read);
* ``<p>-sources`` (per-source health, :data:`SOURCES_SUFFIX`) has its own template of higher
  priority, so it gets its own small mapping and stays out of the article alias.

Why yearly and one primary shard: Elastic's guidance is shards of 10-50 GB. A busy regional
outlet list (a few thousand articles a day at ~10 KB of source each) makes a few GB a year,
so one shard per year is already on the small side; monthly indices made 120+ shards of a
few MB for a ten-year backfill. ``INDEX_SHARDS`` raises the primaries of new yearly indices
for a much larger source list. Why not size-based rollover: the target index of an article
would depend on when it was first written, so a re-crawl after a rollover would need an
id -> index lookup on every write; a date-derived name needs none.

Replicas come from ``INDEX_REPLICAS`` (default 0: a single node is green, not yellow); the
setting is also applied to existing indices on every install, since it is a dynamic setting.

Settings: a 2 s refresh halves segment churn against the default and keeps new articles
searchable within seconds; the translog stays request-durable, so an acknowledged write is
never lost.

Templates carry ``version`` = :data:`TEMPLATE_VERSION`; a change bumps it and applies to
indices created afterwards (the next year, or a reindex), never rewriting old ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import structlog
from elasticsearch import Elasticsearch

from shared.settings import Settings

log = structlog.get_logger(__name__)

TEMPLATE_VERSION = 2
# Package data (importlib.resources), so an installed wheel finds them as a checkout does.
TEMPLATE_DIR = resources.files("services.indexer") / "index_templates"
SOURCES_SUFFIX = "sources"


@dataclass(frozen=True)
class IndexLayout:
    """What the templates need from the settings."""

    prefix: str
    shards: int = 1
    replicas: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexLayout:
        return cls(settings.index_prefix, settings.index_shards, settings.index_replicas)


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEMPLATE_DIR / f"{name}.json").read_text("utf-8"))
    return data


def index_for(prefix: str, published: datetime | str) -> str:
    """The one index an article lives in: its publication year (UTC)."""
    when = datetime.fromisoformat(published) if isinstance(published, str) else published
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return f"{prefix}-{when:%Y}"


def sources_index(prefix: str) -> str:
    return f"{prefix}-{SOURCES_SUFFIX}"


def component_templates(
    prefix: str, *, with_languages: bool, shards: int = 1, replicas: int = 0
) -> dict[str, dict[str, Any]]:
    meta = {"managed_by": "newsflow", "version": TEMPLATE_VERSION}
    settings = {**_load("settings"), "number_of_shards": shards, "number_of_replicas": replicas}
    templates: dict[str, dict[str, Any]] = {
        f"{prefix}-settings": {"template": {"settings": settings}},
        f"{prefix}-mappings": {"template": {"mappings": _load("mappings")}},
    }
    if with_languages:
        templates[f"{prefix}-languages"] = {"template": {"mappings": _load("languages")}}
    for body in templates.values():
        body["version"] = TEMPLATE_VERSION
        body["_meta"] = meta
    return templates


def index_template(prefix: str, *, with_languages: bool) -> dict[str, Any]:
    composed = [f"{prefix}-settings", f"{prefix}-mappings"]
    if with_languages:
        composed.append(f"{prefix}-languages")
    return {
        "index_patterns": [f"{prefix}-*"],
        "composed_of": composed,
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "newsflow", "languages": with_languages},
        "template": {"aliases": {prefix: {}}},
    }


def sources_template(prefix: str, *, replicas: int = 0) -> dict[str, Any]:
    """The per-source health index: one document per source, overwritten on each export."""
    return {
        "index_patterns": [sources_index(prefix)],
        "priority": 300,  # above the article template, which would also match <p>-*
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "newsflow"},
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
            "mappings": _load("sources-mappings"),
        },
    }


def has_language_analysis(es: Elasticsearch) -> bool:
    """True when every node has ``analysis-common`` (the full distribution does)."""
    info = es.nodes.info(metric="modules", filter_path="nodes.*.modules.name")
    nodes = info.get("nodes", {})
    return bool(nodes) and all(
        any(m.get("name") == "analysis-common" for m in node.get("modules", [])) for node in nodes.values()
    )


def install_templates(es: Elasticsearch, prefix: str, *, shards: int = 1, replicas: int = 0) -> bool:
    """Put the component and index templates; safe to call on every start.

    Returns whether language analysis was enabled. An existing template of a newer version
    is left alone, so an old indexer never downgrades the schema.
    """
    with_languages = has_language_analysis(es)
    current = es.options(ignore_status=404).indices.get_index_template(name=prefix)
    existing = current.get("index_templates", []) if current else []
    if existing and existing[0]["index_template"].get("version", 0) > TEMPLATE_VERSION:
        log.warning("template_newer_kept", template=prefix, ours=TEMPLATE_VERSION)
        return bool(existing[0]["index_template"].get("_meta", {}).get("languages"))
    for name, body in component_templates(
        prefix, with_languages=with_languages, shards=shards, replicas=replicas
    ).items():
        es.cluster.put_component_template(name=name, **body)
    es.indices.put_index_template(name=prefix, **index_template(prefix, with_languages=with_languages))
    es.indices.put_index_template(name=sources_index(prefix), **sources_template(prefix, replicas=replicas))
    if not with_languages:  # only after no template refers to it any more
        es.options(ignore_status=404).cluster.delete_component_template(name=f"{prefix}-languages")
    log.info(
        "templates_installed",
        template=prefix,
        version=TEMPLATE_VERSION,
        language_analysis=with_languages,
        reason=None if with_languages else "analysis_common_module_missing",
    )
    return with_languages


def apply_replicas(es: Elasticsearch, prefix: str, replicas: int) -> None:
    """Replicas are dynamic: bring existing indices in line with the setting."""
    es.options(ignore_status=404).indices.put_settings(
        index=f"{prefix}-*",
        settings={"index": {"number_of_replicas": replicas}},
        allow_no_indices=True,
        expand_wildcards="open",
    )


def ensure_current_index(es: Elasticsearch, prefix: str, when: datetime) -> str:
    """Create this year's index so the alias resolves before the first article arrives."""
    name = index_for(prefix, when)
    es.options(ignore_status=400).indices.create(index=name)  # 400: already exists
    return name


def ensure_layout(es: Elasticsearch, layout: IndexLayout, now: datetime) -> tuple[bool, str]:
    """Everything an empty or older cluster needs: templates, replicas, the current index and
    the sources index. Returns (language analysis on, current index)."""
    languages = install_templates(es, layout.prefix, shards=layout.shards, replicas=layout.replicas)
    apply_replicas(es, layout.prefix, layout.replicas)
    current = ensure_current_index(es, layout.prefix, now)
    es.options(ignore_status=400).indices.create(index=sources_index(layout.prefix))
    return languages, current
