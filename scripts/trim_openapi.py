"""Write src/sbwatch/sim/openapi-subset.json: the Management API operations the simulator serves.

Usage: python scripts/trim_openapi.py [FULL_SPEC] [OUTPUT]
(default: tests/fixtures/real/supabase-mgmt-openapi.json -> src/sbwatch/sim/openapi-subset.json)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / "tests" / "fixtures" / "real" / "supabase-mgmt-openapi.json"
DEFAULT_TARGET = ROOT / "src" / "sbwatch" / "sim" / "openapi-subset.json"
SERVED: dict[str, tuple[str, ...]] = {
    "/v1/projects": ("get",),
    "/v1/projects/{ref}": ("get",),
    "/v1/projects/{ref}/health": ("get",),
    "/v1/projects/{ref}/billing/addons": ("get", "patch"),
    "/v1/projects/{ref}/billing/addons/{addon_variant}": ("delete",),
    "/v1/projects/{ref}/pause": ("post",),
    "/v1/projects/{ref}/database/query": ("post",),
    "/v1/projects/{ref}/database/query/read-only": ("post",),
    "/v1/projects/{ref}/config/disk": ("get", "post"),
    "/v1/projects/{ref}/config/disk/util": ("get",),
    "/v1/projects/{ref}/config/auth": ("get",),
}
SECURITY_SCHEMES = {
    # the published spec names a "bearer" requirement without defining it; define it here
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "Personal access token (sbp_...)",
    },
}


def _refs(node: Any) -> set[str]:
    """Every component schema name referenced below ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def trim(full: dict[str, Any]) -> dict[str, Any]:
    """The subset document: served operations plus the schemas they reach (transitively)."""
    paths: dict[str, Any] = {}
    for path, methods in SERVED.items():
        item = full["paths"][path]
        kept = {method: item[method] for method in methods}
        for method, operation in kept.items():
            operation["security"] = [{"bearer": []}]
            kept[method] = operation
        paths[path] = kept
    schemas = full.get("components", {}).get("schemas", {})
    wanted = _refs(paths)
    pending = list(wanted)
    while pending:
        for name in _refs(schemas[pending.pop()]):
            if name not in wanted:
                wanted.add(name)
                pending.append(name)
    return {
        "openapi": full["openapi"],
        "info": {
            **full["info"],
            "title": f"{full['info'].get('title', 'API')} (sbwatch simulator subset)",
        },
        "paths": paths,
        "components": {
            "schemas": {name: schemas[name] for name in sorted(wanted)},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def main(argv: list[str]) -> int:
    """Read the full spec, write the subset."""
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    target = Path(argv[2]) if len(argv) > 2 else DEFAULT_TARGET
    subset = trim(json.loads(source.read_text(encoding="utf-8")))
    target.write_text(json.dumps(subset, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    schemas = len(subset["components"]["schemas"])
    print(f"wrote {target} ({len(subset['paths'])} paths, {schemas} schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
