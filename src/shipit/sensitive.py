"""The Secret wrapper and the redaction of known secret values from any text.

A value read from the keyring or from a CI variable is wrapped at once. ``str()`` and ``repr()``
show ``[REDACTED]``; only ``reveal()`` gives the value, and only an adapter (to send it) or the
local provider (to put it into a child process's environment) calls it. Every wrapped value is also
registered so that :func:`redact` can mask it in any text that reaches output: logs, errors, traces.
"""

from __future__ import annotations

import threading
from typing import Final

REDACTED: Final = "[REDACTED]"
_MIN_REDACT_LENGTH = 3

_lock = threading.Lock()
_known: set[str] = set()


class Secret:
    """A value that must never be shown; compare with ``==``, unwrap with ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        """The plain value, for the one place that must send or inject it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def register(value: str) -> None:
    """Remember ``value`` so that :func:`redact` masks it wherever it appears."""
    if len(value) >= _MIN_REDACT_LENGTH:
        with _lock:
            _known.add(value)
            for line in value.splitlines():
                if len(line) >= _MIN_REDACT_LENGTH:
                    _known.add(line)


def redact(text: str) -> str:
    """``text`` with every registered secret value replaced by ``[REDACTED]``."""
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def reveal(value: str | Secret) -> str:
    """The plain text of a value that may or may not be a Secret."""
    return value.reveal() if isinstance(value, Secret) else value
