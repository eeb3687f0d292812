"""Builders: which one is found on PATH, the commands it gets, and how credentials reach it.

A fake ``buildah`` (a script that records its arguments and the auth file it was given) and a fake
Bearer registry drive ``build_image`` end to end without a real build; the real builder runs in
``test_artifact_real_registry.py`` and ``tests/e2e/test_build_cli.py``.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.oci_registry import BearerRegistry, bearer_registry

from shipit.artifacts import build_image, ensure_promotable, find_builder
from shipit.artifacts.builders import Builder
from shipit.config import load_config, resolve_environment
from shipit.errors import AuthError, DeployFailedError, ExitCode, UsageError
from shipit.providers.base import Artifact

DIGEST = "sha256:" + "c" * 64
PASSWORD = "builder-pass-7f3a"

FAKE_BUILDER = """#!{python}
import json, os, stat, sys
args = sys.argv[1:]
record = {{"tool": os.path.basename(sys.argv[0]), "args": args,
          "docker_config": os.environ.get("DOCKER_CONFIG")}}
if "--authfile" in args:
    path = args[args.index("--authfile") + 1]
    record["authfile"] = path
    record["authfile_mode"] = stat.S_IMODE(os.stat(path).st_mode)
    with open(path) as handle:
        record["authfile_content"] = json.load(handle)
with open(os.environ["FAKE_BUILDER_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
if args and args[0] == "version":
    sys.exit(1)  # docker: the daemon is not running
if "build" in args:
    count = int(os.environ.get("FAKE_BUILD_LINES", "3"))
    for number in range(1, count + 1):
        print(f"STEP {{number}}/{{count}}: line {{number}}", flush=True)
    sys.exit(int(os.environ.get("FAKE_BUILD_EXIT", "0")))
if "push" in args:
    print("Writing manifest to image destination")
    if os.environ.get("FAKE_PUSH_FAIL"):
        print("Error: pushing image: authentication required")
        sys.exit(125)
"""


class Recorder:
    """A Reporter that remembers what it was told."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str, str, str]] = []
        self.lines: list[str] = []

    def step(self, service: str, step: str, state: str, detail: str = "") -> None:
        self.steps.append((service, step, state, detail))

    def warn(self, message: str) -> None:
        self.steps.append(("", "warn", message, ""))

    def detail(self, service: str, line: str) -> None:
        self.lines.append(line)


def fake_tools(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / name
        path.write_text(FAKE_BUILDER.format(python=sys.executable))
        path.chmod(0o755)
    return folder


@pytest.fixture
def builder_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "builder.log"
    monkeypatch.setenv("FAKE_BUILDER_LOG", str(log))
    return log


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# --- finding a builder ---------------------------------------------------------------------


def test_docker_without_a_daemon_is_passed_over(
    tmp_path: Path, builder_log: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "bin", "docker", "buildah")))
    builder = find_builder()
    assert builder.name == "buildah"
    assert records(builder_log)[0]["args"][:1] == ["version"]  # docker was asked first


def test_no_builder_names_all_three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError) as caught:
        find_builder()
    assert "docker, buildah, podman" in str(caught.value)
    assert "apt-get install buildah" in (caught.value.hint or "")
    assert caught.value.exit_code == ExitCode.USAGE


def test_docker_only_without_daemon_says_so(
    tmp_path: Path, builder_log: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "bin", "docker")))
    with pytest.raises(UsageError, match="daemon is not reachable"):
        find_builder()


def test_chosen_builder(tmp_path: Path, builder_log: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "bin", "buildah", "podman")))
    assert find_builder("podman").name == "podman"
    monkeypatch.setenv("SHIPIT_BUILDER", "podman")
    assert find_builder().name == "podman"
    with pytest.raises(UsageError, match="'docker' is not on PATH"):
        find_builder("docker")
    with pytest.raises(UsageError, match="unknown builder 'kaniko'"):
        find_builder("kaniko")


def test_buildah_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "bin", "buildah")))
    monkeypatch.setenv("SHIPIT_BUILDAH_ARGS", "--storage-driver vfs --root '/tmp/a b'")
    monkeypatch.setenv("BUILDAH_ISOLATION", "chroot")
    builder = find_builder("buildah")
    assert builder.global_args == ("--storage-driver", "vfs", "--root", "/tmp/a b")
    assert builder.build_options == ()  # buildah reads BUILDAH_ISOLATION itself
    command = builder.build_command(
        dockerfile=Path("/p/Dockerfile"),
        context=Path("/p"),
        image="127.0.0.1:5000/app:abc",
        args={"VERSION": "1"},
        target="prod",
    )
    assert command[1:] == [
        "--storage-driver", "vfs", "--root", "/tmp/a b", "build", "--format", "docker",
        "-f", "/p/Dockerfile", "-t", "127.0.0.1:5000/app:abc", "--target", "prod",
        "--build-arg", "VERSION=1", "/p",
    ]  # fmt: skip


def test_buildah_defaults_as_root_in_a_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from shipit.artifacts import builders

    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "bin", "buildah")))
    monkeypatch.setattr(builders, "_rootful_sandbox", lambda: True)
    builder = find_builder("buildah")
    assert builder.global_args == ("--storage-driver", "vfs")
    assert builder.build_options == ("--isolation", "chroot")
    monkeypatch.setattr(builders, "_rootful_sandbox", lambda: False)
    assert find_builder("buildah").global_args == ()


def test_push_commands():
    buildah = Builder("buildah", "buildah", ("--storage-driver", "vfs"))
    assert buildah.push_command("127.0.0.1:5000/app:t", auth_dir=Path("/a"), insecure=True) == [
        "buildah", "--storage-driver", "vfs", "push", "--authfile", "/a/config.json",
        "--tls-verify=false", "127.0.0.1:5000/app:t", "docker://127.0.0.1:5000/app:t",
    ]  # fmt: skip
    podman = Builder("podman", "podman")
    assert podman.push_command("ghcr.io/a:t", auth_dir=None, insecure=False) == [
        "podman", "push", "ghcr.io/a:t",
    ]  # fmt: skip
    docker = Builder("docker", "docker")
    assert docker.push_command("ghcr.io/a:t", auth_dir=Path("/a"), insecure=False) == [
        "docker", "push", "ghcr.io/a:t",
    ]  # fmt: skip
    assert docker.push_environment(Path("/a"))["DOCKER_CONFIG"] == "/a"


# --- build_image with a fake builder and a Bearer registry ---------------------------------


@pytest.fixture
def registry() -> Iterator[BearerRegistry]:
    fake = BearerRegistry(users={"robot": PASSWORD}, any_tag={"team/web": DIGEST})
    with bearer_registry(fake) as running:
        yield running


def make_project(root: Path, image: str) -> Path:
    root.mkdir(parents=True)
    (root / "docker").mkdir()
    (root / "docker" / "Dockerfile").write_text("FROM scratch\n")
    (root / "shipit.toml").write_text(
        f"""
[project]
name = "demo"

[services.web]
image = "{image}"

[services.web.build]
dockerfile = "docker/Dockerfile"
context = "."
args = {{ VERSION = "1.0" }}

[environments.staging]
provider = "local"
"""
    )
    return root / "shipit.toml"


def environment(config: Path):
    return resolve_environment(load_config(config), "staging")


@pytest.fixture
def fake_buildah(tmp_path: Path, builder_log: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "bin", "buildah")))
    monkeypatch.setenv("SHIPIT_BUILDAH_ARGS", "")  # no defaults: the command is predictable
    monkeypatch.setenv("BUILDAH_ISOLATION", "chroot")
    return builder_log


def test_build_image_pushes_with_an_auth_file_and_pins_the_registry_digest(
    tmp_path: Path, registry: BearerRegistry, fake_buildah: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", "robot")
    monkeypatch.setenv("SHIPIT_REGISTRY_PASSWORD", PASSWORD)
    env = environment(make_project(tmp_path / "p", f"{registry.host}/team/web:ignored"))
    reporter = Recorder()
    artifact = build_image(env, env.services["web"], reporter=reporter)

    assert artifact.kind == "image"
    assert artifact.digest == DIGEST
    assert artifact.ref == f"{registry.host}/team/web@{DIGEST}"
    assert artifact.tag is not None and artifact.tag.startswith("content-")
    build, push = records(fake_buildah)
    root = tmp_path / "p"
    assert build["args"] == [
        "build", "--format", "docker", "-f", str(root / "docker" / "Dockerfile"),
        "-t", f"{registry.host}/team/web:{artifact.tag}", "--build-arg", "VERSION=1.0", str(root),
    ]  # fmt: skip
    assert push["args"][0] == "push"
    assert "--tls-verify=false" in push["args"]  # a loopback registry
    assert push["authfile_mode"] == 0o600
    assert push["authfile_content"]["auths"][registry.host]["auth"]
    assert not Path(push["authfile"]).exists()  # deleted after the push
    assert all(PASSWORD not in " ".join(record["args"]) for record in (build, push))
    assert reporter.lines[:3] == ["STEP 1/3: line 1", "STEP 2/3: line 2", "STEP 3/3: line 3"]
    assert ("web", "push", "done", DIGEST) in reporter.steps
    # the digest came from the registry: a HEAD of the pushed tag with a pull token
    head = [r for r in registry.requests if r["method"] == "HEAD"][-1]
    assert head["path"] == f"/v2/team/web/manifests/{artifact.tag}"
    assert head["headers"]["Authorization"].startswith("Bearer ")
    token_requests = [r["path"] for r in registry.requests if r["path"].startswith("/token")]
    assert any("pull%2Cpush" in path for path in token_requests)  # the access check before build


def test_build_failure_keeps_the_last_lines(
    tmp_path: Path, registry: BearerRegistry, fake_buildah: Path, monkeypatch: pytest.MonkeyPatch
):
    registry.public.add("team/web")
    monkeypatch.setenv("FAKE_BUILD_LINES", "30")
    monkeypatch.setenv("FAKE_BUILD_EXIT", "2")
    env = environment(make_project(tmp_path / "p", f"{registry.host}/team/web"))
    with pytest.raises(DeployFailedError) as caught:
        build_image(env, env.services["web"])
    assert "building 'web' with buildah failed (exit 2)" in str(caught.value)
    assert caught.value.log_tail == [f"STEP {n}/30: line {n}" for n in range(11, 31)]
    assert caught.value.exit_code == ExitCode.DEPLOY
    assert len(records(fake_buildah)) == 1  # nothing pushed


def test_refused_push_is_an_auth_error(
    tmp_path: Path, registry: BearerRegistry, fake_buildah: Path, monkeypatch: pytest.MonkeyPatch
):
    registry.public.add("team/web")
    monkeypatch.setenv("FAKE_PUSH_FAIL", "1")
    env = environment(make_project(tmp_path / "p", f"{registry.host}/team/web"))
    with pytest.raises(AuthError, match="refused the push"):
        build_image(env, env.services["web"])


def test_wrong_credentials_fail_before_building(
    tmp_path: Path, registry: BearerRegistry, fake_buildah: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", "robot")
    monkeypatch.setenv("SHIPIT_REGISTRY_PASSWORD", "not-the-password")
    env = environment(make_project(tmp_path / "p", f"{registry.host}/team/web"))
    with pytest.raises(AuthError) as caught:
        build_image(env, env.services["web"])
    assert "rejected the credentials of user 'robot'" in str(caught.value)
    assert "not-the-password" not in str(caught.value) + (caught.value.hint or "")
    assert caught.value.exit_code == ExitCode.AUTH
    assert records(fake_buildah) == []


def test_build_table_paths_are_checked(tmp_path: Path, fake_buildah: Path):
    config = make_project(tmp_path / "p", "127.0.0.1:1/team/web")
    (tmp_path / "p" / "docker" / "Dockerfile").unlink()
    env = environment(config)
    with pytest.raises(Exception, match="Dockerfile 'docker/Dockerfile' not found") as caught:
        build_image(env, env.services["web"])
    assert "services.web.build.dockerfile" in str(caught.value)


def test_a_digest_in_image_cannot_be_built(tmp_path: Path, fake_buildah: Path):
    env = environment(make_project(tmp_path / "p", f"127.0.0.1:1/team/web@{DIGEST}"))
    with pytest.raises(Exception, match="pinned to a digest"):
        build_image(env, env.services["web"])


# --- promotion -----------------------------------------------------------------------------


def test_source_builds_cannot_be_promoted():
    ensure_promotable(Artifact(kind="image", ref=f"r/app@{DIGEST}", digest=DIGEST), "web")
    ensure_promotable(Artifact(kind="bundle", ref="bundle-abc"), "web")
    with pytest.raises(UsageError) as caught:
        ensure_promotable(Artifact(kind="source", ref="railway-deploy-123"), "web")
    assert caught.value.exit_code == ExitCode.USAGE
    assert "cannot be promoted" in str(caught.value)
    assert "[services.web.build]" in (caught.value.hint or "")
    assert "`image`" in (caught.value.hint or "")


def test_auth_file_folder_is_private(tmp_path: Path):
    # mkdtemp folders are 0700 on every platform shipit supports; the file inside is 0600
    from shipit.artifacts.auth import RegistryCredentials, auth_config
    from shipit.sensitive import Secret

    with auth_config("h", RegistryCredentials("u", Secret("p-123"), "t")) as folder:
        assert folder is not None
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
