"""CI integration: detect CI, and write GitHub Actions annotations and step summaries."""

from __future__ import annotations

import os

from shipit.errors import ShipitError
from shipit.sensitive import redact


def in_ci() -> bool:
    """True when running under CI (``CI=true``)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotate_error(error: ShipitError) -> None:
    """Write a ``::error::`` workflow command to stdout's neighbour stderr under GitHub Actions."""
    if not os.environ.get("GITHUB_ACTIONS"):
        return
    import sys

    message = redact(str(error))
    if error.hint:
        message += f" (hint: {redact(error.hint)})"
    sys.stderr.write(f"::error title=shipit::{_escape(message)}\n")
    sys.stderr.flush()
