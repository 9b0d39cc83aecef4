"""``<output>/_manifest.json``: the run's identity, conf (redacted by the caller), totals, funnel and phase times."""

from __future__ import annotations

import json
from typing import Any

from jobs.filesystem import write_text

MANIFEST = "_manifest.json"


def write_manifest(spark: Any, output: str, manifest: dict[str, Any]) -> str:
    """Write ``manifest`` as indented JSON (keys in the order given) and return its path."""
    path = f"{output.rstrip('/')}/{MANIFEST}"
    write_text(spark, path, json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
    return path
