"""Fixtures for end-to-end tests: a copy of the example project on free ports, always stopped."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit
from tests.helpers import REPO_ROOT, free_port_block, run_shipit


def _runner_pids(root: Path) -> list[int]:
    """Processes started by the local provider for the project at ``root``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "shipit.providers.local.runner" in cmdline and str(root) in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def example_project(tmp_path: Path) -> Iterator[Path]:
    """The example (shipit.toml + examples/app) copied to a temp dir, local envs on free ports."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "examples" / "app", root / "examples" / "app")
    document = tomlkit.parse((REPO_ROOT / "shipit.example.toml").read_text())
    for name in ("local", "preview"):
        block = document["environments"][name].setdefault("local", tomlkit.table())  # type: ignore[index, union-attr]
        block["port"] = free_port_block(2)
    (root / "shipit.toml").write_text(tomlkit.dumps(document))
    yield root
    for env in ("local", "preview"):
        run_shipit("down", env, cwd=root, timeout=60)
    leftover = _runner_pids(root)
    for pid in leftover:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not leftover, f"processes left running after the test: {leftover}"
