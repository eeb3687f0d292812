"""Changing plain env values in shipit.toml: tomlkit keeps comments and layout, writes are atomic.

The tables an env value can live in, from least to most specific (the overlay merges them in
that order):

    [services.SERVICE] env             every environment of one service   (``-s SERVICE``)
    [environments.ENV] env             every service of one environment   (``-e ENV``)
    [environments.ENV.services.SERVICE] env   one service in one environment (``-e ENV -s SERVICE``)

A change is validated as a whole config before anything is written; the file is replaced by a
temp file + rename, so a reader never sees half a file and a failed write leaves the old one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Comment, Null, Table, Whitespace

from shipit.errors import ConfigError, UsageError

TablePath = tuple[str, ...]


def env_table(env: str | None, service: str | None) -> TablePath:
    """The key path of the ``env`` table that ``-e ENV`` / ``-s SERVICE`` select."""
    if env and service:
        return ("environments", env, "services", service, "env")
    if env:
        return ("environments", env, "env")
    if service:
        return ("services", service, "env")
    raise UsageError(
        "plain values need -e ENV or -s SERVICE",
        hint="-e ENV writes [environments.ENV] env, -s SERVICE writes [services.SERVICE] env",
    )


def describe(table: TablePath) -> str:
    """How a table path reads to a user: ``[environments.local] env``."""
    return f"[{'.'.join(table[:-1])}] {table[-1]}"


def update_env(
    path: Path,
    table: TablePath,
    values: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
) -> list[str]:
    """Set ``values`` and remove ``unset`` in ``table`` of the file; returns the names removed."""
    from shipit.config.loader import display_path, parse_config

    text = path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    owner, created = _owner(document, table)
    current = owner.get(table[-1])
    items: dict[str, Any] = dict(current.items()) if current is not None else {}
    removed = [name for name in unset if name in items]
    for name in removed:
        del items[name]
    items.update(values or {})
    if isinstance(current, Table):
        for name in removed:
            del current[name]
        for name, value in (values or {}).items():
            if name in current:
                current[name] = value
            else:
                _add_key(current, name, value)
    elif items:
        if current is None:
            _add_key(owner, table[-1], _inline(items))
        else:
            owner[table[-1]] = _inline(items)
    elif current is not None:
        del owner[table[-1]]
    if created is not None:
        _move_trailing(created, owner)
    elif len(table) == 5 and not _has_keys(owner):
        _drop_override(document, table)
    new_text = tomlkit.dumps(document)
    if new_text == text:
        return removed
    try:
        parse_config(new_text, path)
    except ConfigError as error:
        raise ConfigError(
            f"the change would make {display_path(path)} invalid: {error.detail}",
            hint="fix the file first, then retry",
        ) from None
    write_atomic(path, new_text)
    return removed


def _owner(document: tomlkit.TOMLDocument, table: TablePath) -> tuple[Any, Table | None]:
    """The table that holds ``table[-1]``, and the table whose end it was added at, if new.

    Service override tables are created; environments and services must exist already.
    """
    root, name = table[0], table[1]
    if root not in document or name not in document[root]:
        kind = "environment" if root == "environments" else "service"
        raise ConfigError(
            f"no {kind} {name!r} in shipit.toml",
            hint=f"add an [{root}.{name}] table first, or check the name",
        )
    node: Any = document[root][name]
    created_in: Table | None = None
    for depth, key in enumerate(table[2:-1]):
        if key not in node:
            if created_in is None:
                created_in = node
            node.add(key, tomlkit.table(is_super_table=depth == 0))
        node = node[key]
    return node, created_in


def _move_trailing(parent: Table, new: Table) -> None:
    """Keep the blank line and comments that introduce the next table after the table just added.

    tomlkit appends a sub-table after the end of ``parent``'s text, above a comment that belongs
    to whatever follows. Comments directly under the last key stay (they belong to its table);
    from the first blank line on, the trailing lines move below the new table.
    """
    body = parent.value.body
    added = body.pop()  # the new table, added last
    holder = _last_table(parent)
    hold = holder.value.body
    end = len(hold)
    while end and hold[end - 1][0] is None and isinstance(hold[end - 1][1], (Whitespace, Comment)):
        end -= 1
    start = next(
        (i for i in range(end, len(hold)) if isinstance(hold[i][1], Whitespace)), len(hold)
    )
    trailing = hold[start:]
    del hold[start:]
    body.append(added)
    added[1].trivia.indent = "\n"
    new.value.body.extend(trailing)


def _add_key(table: Any, key: str, value: Any) -> None:
    """Add ``key`` after the table's last value, above the comments that end its text."""
    body = table.value.body if isinstance(table, Table) else table.body
    trailing: list[tuple[Any, Any]] = []
    while body and body[-1][0] is None and isinstance(body[-1][1], (Whitespace, Comment)):
        trailing.insert(0, body.pop())
    table.add(key, value)
    body.extend(trailing)


def _has_keys(table: Table) -> bool:
    return any(key is not None for key, _item in table.value.body)


def _drop_override(document: tomlkit.TOMLDocument, table: TablePath) -> None:
    """Remove an override table left empty, keeping the lines that followed it."""
    env_node: Any = document[table[0]][table[1]]
    services: Table = env_node[table[2]]
    trailing = [
        entry
        for entry in services[table[3]].value.body
        if entry[0] is None and isinstance(entry[1], (Whitespace, Comment))
    ]
    del services[table[3]]
    if not _has_keys(services):
        del env_node[table[2]]
    hold = _last_table(env_node).value.body
    ends_blank = bool(hold) and isinstance(hold[-1][1], Whitespace)
    if ends_blank and trailing and isinstance(trailing[0][1], Whitespace):
        trailing.pop(0)
    hold.extend(trailing)


def _last_table(table: Table) -> Table:
    """The table whose text comes last inside ``table`` (itself, or its last sub-table)."""
    body = [entry for entry in table.value.body if not isinstance(entry[1], Null)]
    if body and isinstance(body[-1][1], Table):
        return _last_table(body[-1][1])
    return table


def _inline(items: Mapping[str, Any]) -> Any:
    """A one-line inline table in the house style ``{ A = "1", B = true }``."""
    parts = [f"{name} = {tomlkit.item(value).as_string()}" for name, value in items.items()]
    return tomlkit.parse(f"x = {{ {', '.join(parts)} }}\n")["x"]


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` through a temp file in the same folder and a rename."""
    folder = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(mode)
        temp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
