"""Build tags: the git commit (``-dirty`` with changes) or, outside git, a content hash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shipit.artifacts.tagging import content_tag, git_tag, image_tag

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "Dockerfile").write_text("FROM scratch\nCOPY src /src\n")
    return root


def test_content_tag_is_stable_and_follows_the_inputs(project: Path):
    dockerfile = project / "Dockerfile"
    first = content_tag(project, dockerfile, args={}, target=None)
    assert first.startswith("content-")
    assert len(first) == len("content-") + 12
    assert content_tag(project, dockerfile, args={}, target=None) == first
    assert content_tag(project, dockerfile, args={"A": "1"}, target=None) != first
    assert content_tag(project, dockerfile, args={}, target="prod") != first
    (project / "src" / "app.py").write_text("print('changed')\n")
    assert content_tag(project, dockerfile, args={}, target=None) != first


def test_dockerignored_files_do_not_change_the_content_tag(project: Path):
    dockerfile = project / "Dockerfile"
    (project / ".dockerignore").write_text("*.log\nbuild/\n")
    before = content_tag(project, dockerfile, target=None)
    (project / "debug.log").write_text("noise")
    (project / "build").mkdir()
    (project / "build" / "out.bin").write_bytes(b"\0\1")
    (project / ".shipit").mkdir()
    (project / ".shipit" / "state.json").write_text("{}")
    assert content_tag(project, dockerfile, target=None) == before
    (project / "new.py").write_text("x = 1\n")
    assert content_tag(project, dockerfile, target=None) != before


def test_outside_git_the_tag_is_the_content_hash(project: Path):
    assert git_tag(project) is None
    tag = image_tag(project, context=project, dockerfile=project / "Dockerfile")
    assert tag.startswith("content-")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_commit_and_dirty_marker(project: Path, monkeypatch: pytest.MonkeyPatch):
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    git(project, "init", "-q")
    assert git_tag(project) is None  # no commit yet: content hash instead
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "first")
    commit = git(project, "rev-parse", "HEAD")
    assert git_tag(project) == commit[:12]
    assert image_tag(project, context=project, dockerfile=project / "Dockerfile") == commit[:12]
    (project / "src" / "app.py").write_text("print('changed')\n")
    assert git_tag(project) == commit[:12] + "-dirty"
    (project / "src" / "app.py").write_text("print('hi')\n")
    assert git_tag(project) == commit[:12]
    (project / "untracked.txt").write_text("new")
    assert git_tag(project) == commit[:12] + "-dirty"
