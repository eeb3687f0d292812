"""Where in a TOML text a key path is written, so errors can name a line."""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_INLINE_KEY = re.compile(rf"(?:[{{,]\s*)({_PART})\s*=")


def split_key(dotted: str) -> list[str]:
    """Split a TOML dotted key into its parts, honouring quotes."""
    parts: list[str] = []
    for match in re.finditer(r"""\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_-]+)\s*(?:\.|$)""", dotted):
        quoted = match.group(2) if match.group(2) is not None else match.group(3)
        parts.append(quoted if quoted is not None else match.group(1).strip())
    return parts


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every table header and key path in ``text`` to its 1-based line number.

    A table that only exists implicitly (``[a.b]`` without ``[a]``) maps to its first sub-table's
    header, unless it is written explicitly further down.
    """
    found: dict[tuple[str, ...], int] = {}
    implicit: dict[tuple[str, ...], int] = {}
    table: list[str] = []
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            table = split_key(header.group(1))
            found.setdefault(tuple(table), number)
            for i in range(1, len(table)):
                implicit.setdefault(tuple(table[:i]), number)
            continue
        key = _KEY.match(line)
        if not key:
            continue
        path = (*table, *split_key(key.group(1)))
        for i in range(len(table) + 1, len(path) + 1):
            found.setdefault(path[:i], number)
        rest = line[key.end() :]
        for inline in _INLINE_KEY.finditer(rest):
            found.setdefault((*path, *split_key(inline.group(1))), number)
        for quote in ('"""', "'''"):
            if rest.count(quote) == 1:
                in_multiline = quote
    return {**implicit, **found}


def locate(text: str, path: Sequence[str | int]) -> int | None:
    """The line of the longest prefix of ``path`` written in ``text``, or None."""
    lines = key_lines(text)
    parts = tuple(str(p) for p in path if not isinstance(p, int))
    for length in range(len(parts), 0, -1):
        if parts[:length] in lines:
            return lines[parts[:length]]
    return None
