"""Test isolation: every test gets its own HOME, no SHIPIT_*/provider variables, no real keyring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.helpers import kill_process_groups, runner_pids

PROVIDER_VARIABLES = (
    "CI",
    "RAILWAY_API_TOKEN",
    "RAILWAY_TOKEN",
    "RENDER_API_KEY",
    "FLY_API_TOKEN",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "NO_COLOR",
)

REPO_ROOT = Path(__file__).resolve().parent.parent
# scripts/test sets this: there every tool is installed, so a skipped test is a failed one.
NO_SKIPS = os.environ.get("SHIPIT_TEST_NO_SKIPS") == "1"
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """A fresh HOME and XDG dirs, and none of the variables that change shipit's behaviour.

    ``CI`` is removed too: CI runs the suite with ``CI=true``, and tests that want CI mode set it.

    Tests that need a real keyring opt in with the ``keyring`` marker (see tests/e2e).
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in list(os.environ):
        if name.startswith("SHIPIT_"):
            monkeypatch.delenv(name, raising=False)
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture
def shared_dir() -> Path:
    """The read-only folder with provider schemas and design notes beside the project."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the project")
    return SHARED


@pytest.fixture(scope="session", autouse=True)
def no_process_left_running(tmp_path_factory: pytest.TempPathFactory):
    """Fail the session if a service started by a test outlives the test session."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    if not Path("/proc").is_dir():
        return
    import time

    deadline = time.monotonic() + 5
    leftover = runner_pids(base)
    while leftover and time.monotonic() < deadline:
        time.sleep(0.2)
        leftover = runner_pids(base)
    kill_process_groups(leftover)
    assert not leftover, f"processes left running after the test session: {leftover}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Under SHIPIT_TEST_NO_SKIPS=1 a skip (a missing tool) fails the test instead."""
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but SHIPIT_TEST_NO_SKIPS=1: {report.longrepr}"
