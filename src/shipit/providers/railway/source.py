"""The source archive Railway builds from: a reproducible gzipped tar of the service's folder.

Like ``railway up``: files ignored by ``.gitignore`` or ``.railwayignore`` are left out, and so
are ``.git``, ``node_modules`` and shipit's own ``.shipit``; paths are stored as ``./...``.
Owner and times are zeroed, so the same files give the same digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Final

import pathspec

ALWAYS_SKIPPED: Final = frozenset({".git", "node_modules", ".shipit", "__pycache__"})
IGNORE_FILES: Final = (".gitignore", ".railwayignore")


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    lines: list[str] = []
    for name in IGNORE_FILES:
        path = root / name
        if path.is_file():
            lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return pathspec.GitIgnoreSpec.from_lines(lines)


def files(root: Path) -> list[Path]:
    """The files that go into the archive, relative to ``root``, sorted."""
    spec = _ignore_spec(root)
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in ALWAYS_SKIPPED for part in relative.parts):
            continue
        if path.is_dir() or not (path.is_file() or path.is_symlink()):
            continue
        if spec.match_file(relative.as_posix()):
            continue
        found.append(relative)
    return found


def pack(root: Path) -> tuple[bytes, str]:
    """The gzipped tar of ``root`` and its ``sha256:<hex>`` digest."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in files(root):
            info = tar.gettarinfo(str(root / relative), arcname=f"./{relative.as_posix()}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isfile():
                with (root / relative).open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    archive = gzip.compress(buffer.getvalue(), mtime=0)
    return archive, "sha256:" + hashlib.sha256(archive).hexdigest()
