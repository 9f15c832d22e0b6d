"""The Kibana saved objects in deploy/kibana/newsflow.ndjson, checked against the index mapping.

(deploy/kibana/source-health.ndjson reads the sources index: tests/unit/test_kibana_source_health.py.)

No Kibana here: these tests check what a file can show. Every line parses, references resolve
inside the files, the JSON-in-a-string attributes parse, and every field any object names
(Discover columns and sort, KQL queries, filters, Lens source fields, the time field, the KQL
examples in docs/kibana.md) exists in services/indexer/index_templates/mappings.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
KIBANA_DIR = ROOT / "deploy" / "kibana"
MAPPINGS = ROOT / "services" / "indexer" / "index_templates" / "mappings.json"
DOCS = ROOT / "docs" / "kibana.md"
DATA_VIEW_ID = "newsflow-headlines"
LENS_RECORDS = "___records___"  # Lens' pseudo-field for "count of documents"


# --- helpers ---------------------------------------------------------------------------


def load_objects() -> list[dict[str, Any]]:
    objects = []
    for path in [KIBANA_DIR / "newsflow.ndjson"]:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if line.strip():
                try:
                    objects.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise AssertionError(f"{path.name}:{number} is not JSON: {exc}") from exc
    return objects


def mapping_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every searchable path: leaves, object paths (topics.label) and multi-fields (title.keyword)."""
    fields: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            fields.update(mapping_fields(spec["properties"], f"{path}."))
            continue
        fields[path] = spec
        for sub, sub_spec in spec.get("fields", {}).items():
            fields[f"{path}.{sub}"] = sub_spec
    return fields


FIELDS = mapping_fields(json.loads(MAPPINGS.read_text("utf-8"))["properties"])
OBJECTS = load_objects()
BY_KEY = {(obj["type"], obj["id"]): obj for obj in OBJECTS}


def of_type(kind: str) -> list[dict[str, Any]]:
    return [obj for obj in OBJECTS if obj["type"] == kind]


def ids(kind: str) -> list[str]:
    return [obj["id"] for obj in of_type(kind)]


def reference(obj: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [ref for ref in obj["references"] if ref["name"] == name]
    assert len(matches) == 1, f"{obj['id']}: expected one reference named {name!r}, got {matches}"
    return matches[0]


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_FIELD_BEFORE_OPERATOR = re.compile(r"([A-Za-z_@][\w.@]*)\s*(?::|<=|>=|<|>)")


def kql_fields(query: str) -> set[str]:
    """Field names of a KQL query: whatever stands before `:` or a range operator."""
    return set(_FIELD_BEFORE_OPERATOR.findall(_QUOTED.sub('""', query)))


def is_aggregatable(field: str) -> bool:
    spec = FIELDS[field]
    return spec.get("type") != "text" and spec.get("doc_values", True) is not False


def searchable(field: str) -> bool:
    return FIELDS[field].get("index", True) is not False


def lens_layers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    layers: dict[str, dict[str, Any]] = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return layers


def search_source(obj: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    return source


# --- the helpers themselves can fail ----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('topics.label : "politics" and places : "SY"', {"topics.label", "places"}),
        ('title : "oil: fields"', {"title"}),
        ("published_at >= now-7d", {"published_at"}),
        ("not duplicate_of : *", {"duplicate_of"}),
        ("ingest_lag_seconds > 3600 or word_count<100", {"ingest_lag_seconds", "word_count"}),
        ("", set()),
    ],
)
def test_kql_fields(query: str, expected: set[str]) -> None:
    assert kql_fields(query) == expected


def test_mapping_fields_include_object_paths_and_multi_fields() -> None:
    assert {"topics.label", "topics.code", "title.keyword", "published_at"} <= FIELDS.keys()
    assert "topics" not in FIELDS  # an object is not a field
    assert not is_aggregatable("title") and is_aggregatable("title.keyword")
    assert not searchable("image_url")


# --- file shape -----------------------------------------------------------------------


def test_there_are_objects_of_every_kind() -> None:
    assert OBJECTS, "no saved objects found in deploy/kibana/*.ndjson"
    kinds = {obj["type"] for obj in OBJECTS}
    assert {"index-pattern", "search", "lens", "dashboard"} <= kinds


def test_every_object_has_type_id_attributes_and_migration_versions() -> None:
    for obj in OBJECTS:
        assert isinstance(obj.get("type"), str) and obj["type"], obj
        assert isinstance(obj.get("id"), str) and obj["id"], obj
        assert isinstance(obj.get("attributes"), dict), obj["id"]
        assert isinstance(obj.get("references"), list), obj["id"]
        # Without a version Kibana would replay every migration since 6.x on our 9.x shapes.
        assert obj.get("coreMigrationVersion") and obj.get("typeMigrationVersion"), obj["id"]
        assert obj["attributes"].get("title"), obj["id"]


def test_migration_versions_are_ones_every_kibana_9_knows() -> None:
    # Kibana migrates an object forward from its typeMigrationVersion and refuses one newer than
    # itself. Legacy (7.x/8.x) versions, as Kibana's own sample data uses, are below every 9.x;
    # model versions ("10.N.0") differ between 9.x minors, so we do not write them.
    for obj in OBJECTS:
        assert re.fullmatch(r"[78]\.\d+\.\d+", obj["typeMigrationVersion"]), obj["id"]
        assert obj["coreMigrationVersion"] == "8.8.0", obj["id"]


def test_ids_are_unique_and_stable() -> None:
    keys = [(obj["type"], obj["id"]) for obj in OBJECTS]
    assert len(keys) == len(set(keys))
    # Fixed ids make `_import?overwrite=true` update objects in place instead of duplicating them.
    assert all(obj["id"].startswith("newsflow-") for obj in OBJECTS)


def test_every_reference_resolves_to_an_object_in_the_files() -> None:
    for obj in OBJECTS:
        names = [ref["name"] for ref in obj["references"]]
        assert len(names) == len(set(names)), f"{obj['id']}: duplicate reference names"
        for ref in obj["references"]:
            assert {"name", "type", "id"} <= ref.keys(), ref
            assert (ref["type"], ref["id"]) in BY_KEY, f"{obj['id']}: dangling reference {ref}"


def test_nested_json_strings_parse() -> None:
    for obj in OBJECTS:
        attributes = obj["attributes"]
        meta = attributes.get("kibanaSavedObjectMeta", {})
        for key, value in [*attributes.items(), *meta.items()]:
            if key.endswith("JSON") or key in {"fields", "fieldAttrs", "fieldFormatMap", "runtimeFieldMap"}:
                assert isinstance(value, str), f"{obj['id']}.{key} must be a JSON string"
                json.loads(value)
        if obj["type"] == "lens":
            assert isinstance(attributes["state"], dict), obj["id"]


# --- data view ------------------------------------------------------------------------


def test_data_view_is_the_default_alias_with_published_at_as_time_field() -> None:
    (view,) = of_type("index-pattern")
    assert view["id"] == DATA_VIEW_ID
    assert view["attributes"]["title"] == Settings().index_prefix == "headlines"
    assert view["attributes"]["timeFieldName"] == "published_at"
    assert FIELDS["published_at"]["type"] == "date"


def test_data_view_field_formats_and_attrs_name_mapped_fields() -> None:
    (view,) = of_type("index-pattern")
    for key in ("fieldFormatMap", "fieldAttrs"):
        for field in json.loads(view["attributes"][key]):
            assert field in FIELDS, f"{key} names {field!r}, which is not in mappings.json"


def test_only_the_data_view_is_titled_like_the_alias() -> None:
    # deploy/kibana/import.sh rewrites '"title":"headlines"' for a custom INDEX_PREFIX.
    text = "".join(path.read_text("utf-8") for path in KIBANA_DIR.glob("*.ndjson"))
    assert text.count('"title":"headlines"') == 1


# --- saved searches -------------------------------------------------------------------


def test_saved_searches_use_mapped_fields_and_resolve_their_data_view() -> None:
    searches = of_type("search")
    assert "newsflow-latest-headlines" in ids("search")
    assert len(searches) >= 4, "Latest headlines plus searches per key topic"
    for obj in searches:
        attributes = obj["attributes"]
        for column in attributes["columns"]:
            assert column in FIELDS, f"{obj['id']}: column {column!r} not in mappings.json"
        for field, direction in attributes["sort"]:
            assert field in FIELDS and direction in {"asc", "desc"}, obj["id"]
        source = search_source(obj)
        assert "index" not in source, "the data view must be a reference, not an inline id"
        assert reference(obj, source["indexRefName"])["id"] == DATA_VIEW_ID
        assert source["query"]["language"] == "kuery"
        for field in kql_fields(source["query"]["query"]):
            assert field in FIELDS and searchable(field), f"{obj['id']}: KQL field {field!r}"
        for position, row in enumerate(source.get("filter", [])):
            meta = row["meta"]
            assert meta["key"] in FIELDS, f"{obj['id']}: filter on {meta['key']!r}"
            ref_name = meta["indexRefName"]
            assert ref_name == f"kibanaSavedObjectMeta.searchSourceJSON.filter[{position}].meta.index"
            assert reference(obj, ref_name)["id"] == DATA_VIEW_ID


def test_latest_headlines_shows_the_brief_columns_newest_first_without_duplicates() -> None:
    obj = BY_KEY[("search", "newsflow-latest-headlines")]
    assert obj["attributes"]["columns"] == ["title", "source", "topics.label", "places"]
    assert obj["attributes"]["sort"] == [["published_at", "desc"]]
    (row,) = search_source(obj)["filter"]
    assert row["meta"]["negate"] is True and row["meta"]["disabled"] is False
    assert row["query"] == {"exists": {"field": "duplicate_of"}}


def test_topic_searches_query_topic_labels() -> None:
    topic_searches = [obj for obj in of_type("search") if obj["id"].startswith("newsflow-topic-")]
    assert len(topic_searches) >= 3
    for obj in topic_searches:
        query = search_source(obj)["query"]["query"]
        assert kql_fields(query) == {"topics.label"}, query
        assert re.fullmatch(r'topics\.label : "[^"]+"', query), query


# --- lens -----------------------------------------------------------------------------


def test_lens_columns_use_mapped_aggregatable_fields() -> None:
    lenses = of_type("lens")
    assert lenses
    for obj in lenses:
        state = obj["attributes"]["state"]
        for field in kql_fields(state["query"]["query"]):
            assert field in FIELDS and searchable(field), f"{obj['id']}: KQL field {field!r}"
        for layer_id, layer in lens_layers(obj).items():
            assert set(layer["columnOrder"]) == set(layer["columns"]), f"{obj['id']}/{layer_id}"
            for column in layer["columns"].values():
                field = column.get("sourceField")
                if field in (None, LENS_RECORDS):
                    continue
                assert field in FIELDS, f"{obj['id']}: sourceField {field!r} not in mappings.json"
                assert is_aggregatable(field), f"{obj['id']}: {field!r} cannot be aggregated"
                if column["operationType"] == "date_histogram":
                    assert FIELDS[field]["type"] == "date"
                if column["operationType"] in {"median", "percentile", "average", "sum"}:
                    assert FIELDS[field]["type"] in {"long", "integer", "float", "double"}


def test_lens_layers_reference_the_data_view() -> None:
    for obj in of_type("lens"):
        for layer_id in lens_layers(obj):
            ref = reference(obj, f"indexpattern-datasource-layer-{layer_id}")
            assert ref == {"type": "index-pattern", "id": DATA_VIEW_ID, "name": ref["name"]}


def test_lens_visualization_accessors_point_at_columns() -> None:
    for obj in of_type("lens"):
        assert obj["attributes"]["visualizationType"] == "lnsXY"
        layers = lens_layers(obj)
        for vis_layer in obj["attributes"]["state"]["visualization"]["layers"]:
            columns = layers[vis_layer["layerId"]]["columns"]
            used = [vis_layer["xAccessor"], *vis_layer["accessors"]]
            if "splitAccessor" in vis_layer:
                used.append(vis_layer["splitAccessor"])
            for accessor in used:
                assert accessor in columns, f"{obj['id']}: accessor {accessor!r} has no column"
            for column in columns.values():
                order_by = column.get("params", {}).get("orderBy", {})
                if order_by.get("type") == "column":
                    assert order_by["columnId"] in columns


def test_dashboard_charts_cover_the_brief() -> None:
    fields_by_lens = {
        obj["id"]: {
            (column["operationType"], column.get("sourceField"))
            for layer in lens_layers(obj).values()
            for column in layer["columns"].values()
        }
        for obj in of_type("lens")
    }
    everything = set().union(*fields_by_lens.values())
    assert ("terms", "topics.label") in everything and ("date_histogram", "published_at") in everything
    assert ("terms", "source") in everything
    assert ("terms", "places") in everything
    assert ("median", "ingest_lag_seconds") in everything
    assert ("percentile", "ingest_lag_seconds") in everything
    assert ("median", "pipeline_lag_seconds") in everything
    assert ("percentile", "pipeline_lag_seconds") in everything


def test_pipeline_lag_is_charted_over_indexing_time() -> None:
    layers = lens_layers(BY_KEY[("lens", "newsflow-lens-pipeline-lag")])
    columns = [column for layer in layers.values() for column in layer["columns"].values()]
    assert ("date_histogram", "indexed_at") in {(c["operationType"], c.get("sourceField")) for c in columns}
    # the stamps it is computed from are stored too
    assert FIELDS["discovered_at"]["type"] == FIELDS["indexed_at"]["type"] == "date"


# --- dashboard ------------------------------------------------------------------------


def test_dashboard_panels_resolve_and_fit_the_grid() -> None:
    (dashboard,) = of_type("dashboard")
    attributes = dashboard["attributes"]
    json.loads(attributes["optionsJSON"])
    assert json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["language"] == "kuery"
    panels = json.loads(attributes["panelsJSON"])
    assert panels
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 48, f"panel {grid['i']} leaves the 48-column grid"
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, f"panel {grid['i']} overlaps another"
        cells |= area
        ref = reference(dashboard, f"{panel['panelIndex']}:{panel['panelRefName']}")
        assert ref["type"] == panel["type"]
        assert (ref["type"], ref["id"]) in BY_KEY
    # Every reference is used by a panel (no stale leftovers).
    assert len(dashboard["references"]) == len(panels)


def test_pipeline_lag_panel_sits_next_to_publication_lag() -> None:
    (dashboard,) = of_type("dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    by_lens = {
        reference(dashboard, f"{p['panelIndex']}:{p['panelRefName']}")["id"]: p["gridData"] for p in panels
    }
    publication, pipeline = by_lens["newsflow-lens-ingest-lag"], by_lens["newsflow-lens-pipeline-lag"]
    assert publication["y"] == pipeline["y"] and publication["h"] == pipeline["h"]
    assert pipeline["x"] == publication["x"] + publication["w"]


def test_dashboard_embeds_every_lens_and_the_latest_headlines() -> None:
    (dashboard,) = of_type("dashboard")
    embedded = {(ref["type"], ref["id"]) for ref in dashboard["references"]}
    assert {("lens", lens_id) for lens_id in ids("lens")} <= embedded
    assert ("search", "newsflow-latest-headlines") in embedded


# --- docs -----------------------------------------------------------------------------


def test_kql_examples_in_the_docs_use_mapped_fields() -> None:
    blocks = re.findall(r"```kql\n(.*?)```", DOCS.read_text("utf-8"), flags=re.S)
    examples = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert len(examples) >= 4
    for example in examples:
        found = kql_fields(example)
        assert found, f"no field in KQL example {example!r}"
        for field in found:
            assert field in FIELDS and searchable(field), f"docs/kibana.md: {example!r} uses {field!r}"
