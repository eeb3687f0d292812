"""The tag a build is pushed under: the git commit (``-dirty`` with changes), else a content hash.

The tag is for humans and registry listings; shipit itself always deploys by digest, so a tag that
is pushed again (two builds of the same dirty tree) is harmless.

- In a git work tree with at least one commit: the first 12 hex digits of ``HEAD``, plus
  ``-dirty`` when ``git status`` shows changes (including untracked files) below the project root.
- Otherwise: ``content-`` and 12 hex digits of a SHA-256 over the build context (minus the
  ``.dockerignore`` patterns, ``.git`` and ``.shipit``), the Dockerfile, the build args and target.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_SKIP_DIRS = {".git", ".shipit"}
_GIT_TIMEOUT = 15.0


def _git(root: Path, *args: str) -> str | None:
    """Output of a git command in ``root``; None when git is missing or the command fails."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_tag(root: Path) -> str | None:
    """``<commit>`` or ``<commit>-dirty`` for the work tree holding ``root``; None outside git."""
    head = _git(root, "rev-parse", "--verify", "--quiet", "--short=12", "HEAD")
    if not head or not head.strip():
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    dirty = status is None or bool(status.strip())
    return head.strip() + ("-dirty" if dirty else "")


def _ignore_spec(context: Path) -> Any:
    ignore_file = context / ".dockerignore"
    if not ignore_file.is_file():
        return None
    import pathspec

    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _context_files(context: Path) -> Iterator[Path]:
    """Every file and symlink below ``context`` that a build would send, in a stable order."""
    spec = _ignore_spec(context)
    for folder, dirs, files in os.walk(context):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        here = Path(folder)
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(context).as_posix()
            if spec is not None and spec.match_file(relative):
                continue
            yield path


def content_tag(
    context: Path, dockerfile: Path, *, args: Mapping[str, str] | None = None, target: str | None
) -> str:
    """``content-<12 hex>``: a hash of what the build reads, for projects outside git."""
    digest = hashlib.sha256()
    for path in _context_files(context):
        digest.update(path.relative_to(context).as_posix().encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link\0" + str(path.readlink()).encode() + b"\0")
            continue
        digest.update(b"x\0" if os.access(path, os.X_OK) else b"f\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
        digest.update(b"\0")
    if dockerfile.is_file():
        digest.update(b"dockerfile\0" + dockerfile.read_bytes())
    for name, value in sorted((args or {}).items()):
        digest.update(f"arg\0{name}={value}\0".encode())
    digest.update(f"target\0{target or ''}".encode())
    return "content-" + digest.hexdigest()[:12]


def image_tag(
    root: Path,
    *,
    context: Path,
    dockerfile: Path,
    args: Mapping[str, str] | None = None,
    target: str | None = None,
) -> str:
    """The tag for a build of the project in ``root``: git commit first, content hash else."""
    return git_tag(root) or content_tag(context, dockerfile, args=args, target=target)
