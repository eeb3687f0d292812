"""Small JSON objects kept in a service variable: release names by artifact, images by deployment.

Railway and Render keep no free-form text on a deployment, so shipit stores these indexes in the
service's own variables, where any machine can read them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from shipit.providers.base import Artifact

INDEX_LIMIT: Final = 30


def artifact_key(artifact: Artifact) -> str:
    """The key of an artifact in the release-name index: its digest, else its reference."""
    return artifact.digest or artifact.ref


def json_map(variables: Mapping[str, Any] | None, name: str) -> dict[str, str]:
    """The JSON object stored in variable ``name`` (empty when absent or not an object)."""
    raw = (variables or {}).get(name)
    if not isinstance(raw, str):
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, Mapping):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def with_entry(mapping: Mapping[str, str], key: str, value: str) -> str:
    """``mapping`` as stored, with ``key`` set to ``value`` (newest last, oldest dropped)."""
    entries = [(k, v) for k, v in mapping.items() if k != key] + [(key, value)]
    return json.dumps(dict(entries[-INDEX_LIMIT:]), separators=(",", ":"))
