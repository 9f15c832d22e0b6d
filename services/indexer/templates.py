"""Index templates and the read alias: built as plain dicts, installed idempotently.

Layout (``<p>`` is ``settings.index_prefix``, e.g. ``headlines``):

* component templates ``<p>-settings``, ``<p>-mappings`` and, where the cluster has the
  ``analysis-common`` module, ``<p>-languages`` (English/Russian stemming subfields);
* the index template ``<p>`` for ``<p>-*`` composed of them, which also puts every new
  monthly index (``<p>-2026.11``) behind the alias ``<p>``.

Settings: one shard per month is plenty for news volumes; a 2 s refresh halves segment churn
against the default and keeps new articles searchable within seconds; the translog stays
request-durable, so an acknowledged write is never lost.

Templates carry ``version`` = :data:`TEMPLATE_VERSION`; a change bumps it and applies to
indices created afterwards (the next month, or a reindex), never rewriting old ones.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import structlog
from elasticsearch import Elasticsearch

log = structlog.get_logger(__name__)

TEMPLATE_VERSION = 1
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "elasticsearch"


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEMPLATE_DIR / f"{name}.json").read_text("utf-8"))
    return data


def component_templates(prefix: str, *, with_languages: bool) -> dict[str, dict[str, Any]]:
    meta = {"managed_by": "newsflow", "version": TEMPLATE_VERSION}
    templates: dict[str, dict[str, Any]] = {
        f"{prefix}-settings": {"template": {"settings": _load("settings")}},
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


def has_language_analysis(es: Elasticsearch) -> bool:
    """True when every node has ``analysis-common`` (the full distribution does)."""
    info = es.nodes.info(metric="modules", filter_path="nodes.*.modules.name")
    nodes = info.get("nodes", {})
    return bool(nodes) and all(
        any(m.get("name") == "analysis-common" for m in node.get("modules", [])) for node in nodes.values()
    )


def install_templates(es: Elasticsearch, prefix: str) -> bool:
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
    for name, body in component_templates(prefix, with_languages=with_languages).items():
        es.cluster.put_component_template(name=name, **body)
    es.indices.put_index_template(name=prefix, **index_template(prefix, with_languages=with_languages))
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


def ensure_current_index(es: Elasticsearch, prefix: str, when: datetime) -> str:
    """Create this month's index so the alias resolves before the first article arrives."""
    name = monthly_index(prefix, when)
    es.options(ignore_status=400).indices.create(index=name)  # 400: already exists
    return name


def monthly_index(prefix: str, when: datetime) -> str:
    return f"{prefix}-{when:%Y.%m}"
