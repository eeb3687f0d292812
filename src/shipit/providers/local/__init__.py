"""The ``local`` provider: release bundles run as background processes on this machine.

``LocalProvider`` is imported on first use, so that the runner process
(``python -m shipit.providers.local.runner``) starts without loading the adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipit.providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]


def __getattr__(name: str) -> Any:
    if name == "LocalProvider":
        from shipit.providers.local.provider import LocalProvider

        return LocalProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
