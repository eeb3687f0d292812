"""Fixtures for end-to-end tests: the example project on free ports (always stopped), a keyring."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit
from tests.e2e.keyring_session import KeyringSession
from tests.helpers import REPO_ROOT, free_port_block, kill_process_groups, run_shipit, runner_pids


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
    leftover = runner_pids(str(root))
    kill_process_groups(leftover)
    assert not leftover, f"processes left running after the test: {leftover}"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyringSession]:
    """A real Secret Service keyring of its own for the test module (see keyring_session)."""
    with KeyringSession(tmp_path_factory.mktemp("keyring")) as running:
        yield running
