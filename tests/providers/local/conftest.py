"""Fixtures for the local provider: a temp project holding the example app, on free ports.

Every provider a test opens is stopped afterwards, and any runner still alive for the project is
killed and reported, so a test that leaks a process fails.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers import kill_process_groups

from .support import CONFIG, EXAMPLE_APP, PYTHON, Project, free_base_port, runner_pids


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE_APP, root / "app", ignore=shutil.ignore_patterns("__pycache__"))
    ports = {"local": free_base_port(), "preview": free_base_port()}
    (root / "shipit.toml").write_text(
        CONFIG.format(python=PYTHON, local_port=ports["local"], preview_port=ports["preview"])
    )
    created = Project(root, ports)
    yield created
    for provider in created.providers:
        for service in provider._environment.services.values():
            provider.stop(service)
    leftover = runner_pids(root)
    kill_process_groups(leftover)
    assert not leftover, f"runners left alive after the test: {leftover}"


@pytest.fixture
def listener() -> Iterator[list[socket.socket]]:
    """Sockets standing for another program's servers; closed when the test ends."""
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()
