"""Which files of a source folder belong in a release bundle (.gitignore rules, nested too).

Rules follow git: each ``.gitignore`` applies below its own folder, a deeper file overrides a
shallower one, the last matching line of a file wins, ``!pattern`` re-includes, and nothing inside
an ignored folder can be re-included. ``.gitignore`` files in the folders between the project root
and the source folder apply as well. ``.git/`` and ``.shipit/`` are always left out, at any depth.
Only regular files and symlinks are bundled; symlinks are kept as links, never followed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

ALWAYS_EXCLUDED = frozenset({".git", ".shipit"})
IGNORE_FILE = ".gitignore"


@dataclass(frozen=True)
class _Rules:
    """The patterns of one .gitignore and the folder they are relative to."""

    base: Path
    spec: pathspec.GitIgnoreSpec


@dataclass(frozen=True)
class SourceFile:
    """One bundled entry: its path relative to the source folder, posix style."""

    relpath: str
    is_link: bool


def _read_rules(folder: Path) -> _Rules | None:
    path = folder / IGNORE_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return _Rules(folder, pathspec.GitIgnoreSpec.from_lines(text.splitlines()))


def _ignored(path: Path, is_dir: bool, rules: list[_Rules]) -> bool:
    """Whether ``path`` is ignored: the deepest .gitignore with an opinion decides."""
    for rule in reversed(rules):
        relative = path.relative_to(rule.base).as_posix() + ("/" if is_dir else "")
        decision = rule.spec.check_file(relative).include
        if decision is not None:
            return bool(decision)
    return False


def _ancestor_rules(source: Path, root: Path | None) -> list[_Rules]:
    """Rules from the folders above ``source`` up to ``root``, shallowest first."""
    if root is None or source == root or not source.is_relative_to(root):
        return []
    folders = [root]
    for part in source.relative_to(root).parts[:-1]:
        folders.append(folders[-1] / part)
    return [rules for folder in folders if (rules := _read_rules(folder)) is not None]


def source_files(source: Path, *, root: Path | None = None) -> list[SourceFile]:
    """The files under ``source`` a bundle holds, sorted by relative path."""
    found: list[SourceFile] = []

    def walk(folder: Path, rules: list[_Rules]) -> None:
        own = _read_rules(folder)
        if own is not None:
            rules = [*rules, own]
        with os.scandir(folder) as entries:
            ordered = sorted(entries, key=lambda entry: entry.name)
        for entry in ordered:
            path = Path(entry.path)
            if entry.is_symlink():
                if not _ignored(path, False, rules):
                    found.append(SourceFile(path.relative_to(source).as_posix(), True))
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in ALWAYS_EXCLUDED and not _ignored(path, True, rules):
                    walk(path, rules)
            elif entry.is_file(follow_symlinks=False) and not _ignored(path, False, rules):
                found.append(SourceFile(path.relative_to(source).as_posix(), False))

    walk(source, _ancestor_rules(source, root))
    found.sort(key=lambda item: item.relpath)
    return found
