"""deploy/kibana/source-health.ndjson against the sources index mapping and the documents we write.

Every field a saved object names exists in services/indexer/index_templates/sources-mappings.json, and that
strict mapping has exactly the fields of the document ``newsflow health`` writes
(``shared.source_health.SourceHealth``), so the dashboard and the exporter cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from shared.source_health import SourceHealth
from tests.unit.test_kibana_objects import kql_fields

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "deploy" / "kibana" / "source-health.ndjson"
MAPPING = json.loads(
    (ROOT / "services" / "indexer" / "index_templates" / "sources-mappings.json").read_text("utf-8")
)
FIELDS: dict[str, dict[str, Any]] = MAPPING["properties"]
OBJECTS = [json.loads(line) for line in FILE.read_text("utf-8").splitlines() if line.strip()]
BY_KEY = {(o["type"], o["id"]): o for o in OBJECTS}
DATA_VIEW = "newsflow-sources"


def of_type(kind: str) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["type"] == kind]


def aggregatable(field: str) -> bool:
    spec = FIELDS[field]
    return spec["type"] not in {"text", "flattened"} and spec.get("index", True) is not False


def test_mapping_is_strict_and_matches_the_written_document() -> None:
    assert MAPPING["dynamic"] == "strict"
    assert {f.name for f in fields(SourceHealth)} == set(FIELDS)


def test_data_view_is_the_sources_index_with_updated_at_as_time() -> None:
    (view,) = of_type("index-pattern")
    assert view["id"] == DATA_VIEW
    assert view["attributes"]["title"] == "headlines-sources"  # import.sh rewrites the prefix
    assert FIELDS[view["attributes"]["timeFieldName"]]["type"] == "date"
    for key in ("fieldFormatMap", "fieldAttrs"):
        assert set(json.loads(view["attributes"][key])) <= set(FIELDS)


def test_objects_are_versioned_with_stable_ids_and_resolving_references() -> None:
    for obj in OBJECTS:
        assert obj["id"].startswith("newsflow-") and obj["coreMigrationVersion"] == "8.8.0"
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in BY_KEY, f"{obj['id']}: dangling {ref}"


def test_saved_searches_use_mapped_fields() -> None:
    searches = of_type("search")
    assert {"newsflow-sources-table", "newsflow-sources-silent"} <= {s["id"] for s in searches}
    for obj in searches:
        for column in obj["attributes"]["columns"]:
            assert column in FIELDS, f"{obj['id']}: {column}"
        for field, _direction in obj["attributes"]["sort"]:
            assert field in FIELDS and aggregatable(field)
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert kql_fields(source["query"]["query"]) <= set(FIELDS)
        (ref,) = obj["references"]
        assert ref["id"] == DATA_VIEW and ref["name"] == source["indexRefName"]
    table = BY_KEY[("search", "newsflow-sources-table")]["attributes"]["columns"]
    for brief in (
        "last_success_at",
        "last_article_at",
        "articles_per_day",
        "error_rate",
        "skip_rate",
        "median_ingest_lag_seconds",
        "silent",
    ):
        assert brief in table


def test_lens_columns_use_mapped_aggregatable_fields_of_the_sources_view() -> None:
    for obj in of_type("lens"):
        layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
        for layer_id, layer in layers.items():
            assert obj["references"] == [
                {
                    "type": "index-pattern",
                    "id": DATA_VIEW,
                    "name": f"indexpattern-datasource-layer-{layer_id}",
                }
            ]
            for column in layer["columns"].values():
                field = column["sourceField"]
                assert field in FIELDS and aggregatable(field), f"{obj['id']}: {field}"


def test_dashboard_is_named_as_the_docs_say_and_embeds_every_object() -> None:
    (dashboard,) = of_type("dashboard")
    assert dashboard["attributes"]["title"] == "newsflow: source health"
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {f"{r['name']}": r for r in dashboard["references"]}
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridData"]
        assert grid["x"] + grid["w"] <= 48
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area
        cells |= area
        assert refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]["type"] == panel["type"]
    embedded = {(r["type"], r["id"]) for r in dashboard["references"]}
    assert {(o["type"], o["id"]) for o in OBJECTS if o["type"] in {"lens", "search"}} == embedded
