"""``shipit build`` as a subprocess: a real buildah build pushed to a real docker-registry, pinned
by the digest the registry reports; and the clear errors (exit codes, no traceback) around it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.fakes.oci_registry import (
    MISSING_BINARIES,
    SKIP_REASON,
    RunningRegistry,
    docker_registry,
    free_port,
    push_small_image,
    write_htpasswd,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.registry,
    pytest.mark.skipif(bool(MISSING_BINARIES), reason=SKIP_REASON),
]

ACCEPT = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
DROPPED = ("FLY_API_TOKEN", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "SHIPIT_DEBUG", "NO_COLOR")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def shipit(*args: str, cwd: Path, home: Path, env: dict[str, str] | None = None) -> Result:
    """Run ``python -m shipit`` with a clean environment (own HOME, no keyring, no tokens)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHIPIT_") and k not in DROPPED}
    full.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "SHIPIT_BUILDAH_ARGS": f"--storage-driver vfs --root {home / 'storage'} "
            f"--runroot {home / 'buildah-run'}",
            "BUILDAH_ISOLATION": "chroot",
        }
    )
    full.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "shipit", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def write_project(root: Path, services: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "hello.txt").write_text("hello\n")
    (root / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (root / "shipit.toml").write_text(f'[project]\nname = "demo"\n\n{services}')
    return root


@dataclass
class Built:
    registry: RunningRegistry
    project: Path
    home: Path
    commit: str
    api_digest: str
    run: Result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """ONE real build for the module: web is built, api resolved, worker skipped."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    base = tmp_path_factory.mktemp("build-cli")
    home = base / "home"
    home.mkdir()
    with docker_registry(base / "registry") as registry:
        api_digest = push_small_image(registry.url, "demo/api", "v1")
        project = write_project(
            base / "project",
            f'[services.web]\nimage = "{registry.host}/demo/web"\n\n[services.web.build]\n\n'
            f'[services.api]\nimage = "{registry.host}/demo/api:v1"\n\n'
            '[services.worker]\nstart = "sleep 1"\n',
        )
        git_env = {**os.environ, **GIT_IDENTITY, "HOME": str(home)}
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "first"]):
            subprocess.run(["git", *command], cwd=project, env=git_env, check=True)
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project, env=git_env, check=True,
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        run = shipit("build", "--json", "--builder", "buildah", cwd=project, home=home)
        yield Built(registry, project, home, commit, api_digest, run)


def test_build_json_pins_the_digest_the_registry_reports(built: Built):
    assert built.run.code == 0, built.run
    services = {s["name"]: s for s in json.loads(built.run.stdout)["services"]}
    web = services["web"]
    assert web["tag"] == built.commit[:12]  # a clean work tree: the commit, no -dirty
    head = httpx.head(
        f"{built.registry.url}/v2/demo/web/manifests/{web['tag']}", headers={"Accept": ACCEPT}
    )
    assert head.status_code == 200
    digest = head.headers["Docker-Content-Digest"]
    assert web["artifact"] == f"{built.registry.host}/demo/web@{digest}"
    assert web["digest"] == digest
    assert web["action"] == "built"


def test_prebuilt_image_is_resolved_and_others_skipped(built: Built):
    services = {s["name"]: s for s in json.loads(built.run.stdout)["services"]}
    assert services["api"]["artifact"] == f"{built.registry.host}/demo/api@{built.api_digest}"
    assert services["api"]["action"] == "resolved"
    assert services["worker"] == {
        "name": "worker",
        "action": "skipped",
        "artifact": None,
        "digest": None,
        "tag": None,
    }


def test_progress_goes_to_stderr(built: Built):
    stderr = built.run.stderr
    assert "web: build ok" in stderr
    assert "web: push ok" in stderr
    assert "api: resolve ok" in stderr
    assert "worker: build skipped" in stderr
    assert "STEP 1/2" not in stderr  # builder output only with --verbose


def test_no_builder_on_path(built: Built, tmp_path: Path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = shipit("build", cwd=built.project, home=built.home, env={"PATH": str(empty)})
    assert result.code == 2, result
    assert "no image builder on PATH: looked for docker, buildah, podman" in result.stderr
    assert "apt-get install buildah" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_failure_shows_the_last_log_lines(built: Built, tmp_path: Path):
    project = write_project(
        tmp_path / "broken",
        f'[services.web]\nimage = "{built.registry.host}/demo/broken"\n\n[services.web.build]\n',
    )
    (project / "Dockerfile").write_text("FROM scratch\nCOPY missing-file.txt /\n")
    result = shipit("build", "--builder", "buildah", cwd=project, home=built.home)
    assert result.code == 5, result
    assert "last log lines:" in result.stderr
    assert "missing-file.txt" in result.stderr
    assert "error: building 'web' with buildah failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_tag(built: Built, tmp_path: Path):
    project = write_project(
        tmp_path / "p", f'[services.api]\nimage = "{built.registry.host}/demo/api:v404"\n'
    )
    result = shipit("build", cwd=project, home=built.home)
    assert result.code == 4, result
    assert f"image {built.registry.host}/demo/api:v404 not found" in result.stderr
    assert "no tag 'v404'" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_credentials_exit_3_without_leaking(tmp_path: Path):
    htpasswd = write_htpasswd(tmp_path / "htpasswd", "alice", "right-pass-8d1")
    home = tmp_path / "home"
    home.mkdir()
    with docker_registry(tmp_path / "registry", htpasswd=htpasswd) as registry:
        project = write_project(
            tmp_path / "p", f'[services.api]\nimage = "{registry.host}/demo/api:v1"\n'
        )
        result = shipit(
            "build",
            "--json",
            cwd=project,
            home=home,
            env={
                "SHIPIT_REGISTRY_USERNAME": "alice",
                "SHIPIT_REGISTRY_PASSWORD": "wrong-pass-4c7",
            },
        )
    assert result.code == 3, result
    assert f"registry {registry.host} rejected the credentials of user 'alice'" in result.stderr
    assert "wrong-pass-4c7" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["error"]["exit_code"] == 3
    assert "Traceback" not in result.stderr


def test_unreachable_registry(built: Built, tmp_path: Path):
    port = free_port()
    project = write_project(tmp_path / "p", f'[services.api]\nimage = "127.0.0.1:{port}/x:v1"\n')
    result = shipit("build", cwd=project, home=built.home)
    assert result.code == 4, result
    assert f"cannot reach registry 127.0.0.1:{port} over http" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr
