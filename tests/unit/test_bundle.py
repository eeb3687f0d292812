"""Release bundles of the local provider: which files, which id, built once."""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

import pytest

from shipit.config.overlay import ServiceSpec
from shipit.errors import ConfigError, DeployFailedError
from shipit.providers.local.bundle import BundleStore
from shipit.providers.local.ignore import source_files
from shipit.providers.local.logfile import format_line, parse_line


def spec(
    source: Path, *, build_command: str | None = None, start: str | None = "run"
) -> ServiceSpec:
    return ServiceSpec(
        name="web",
        remote_name="web",
        source=source,
        start=start,
        build_command=build_command,
        port=8000,
        health_path="/health",
        health_timeout=60.0,
        env=MappingProxyType({}),
        secrets=(),
        plain_secrets=(),
        database=None,
        image=None,
        build=None,
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(
        root,
        {
            ".gitignore": "*.log\nbuild/\n!keep.log\n/only-at-top.txt\n",
            "app.py": "print('hi')\n",
            "debug.log": "noise\n",
            "keep.log": "wanted\n",
            "only-at-top.txt": "x\n",
            "build/out.txt": "generated\n",
            "pkg/only-at-top.txt": "nested, kept\n",
            "pkg/.gitignore": "local.txt\n!debug.log\n",
            "pkg/local.txt": "ignored below pkg\n",
            "pkg/debug.log": "re-included by pkg/.gitignore\n",
            "pkg/mod.py": "x = 1\n",
            ".git/config": "[core]\n",
            ".shipit/state.json": "{}\n",
            "sub/.git/HEAD": "ref\n",
        },
    )
    return root


def bundled(store: BundleStore, ref: str) -> set[str]:
    base = store.path(ref)
    return {p.relative_to(base).as_posix() for p in base.rglob("*") if not p.is_dir()}


def test_files_honour_nested_gitignore_and_always_skip_git_and_shipit(source: Path) -> None:
    names = [item.relpath for item in source_files(source)]
    assert names == [
        ".gitignore",
        "app.py",
        "keep.log",
        "pkg/.gitignore",
        "pkg/debug.log",
        "pkg/mod.py",
        "pkg/only-at-top.txt",
    ]


def test_gitignore_above_the_source_folder_applies(tmp_path: Path) -> None:
    write(tmp_path, {".gitignore": "*.pyc\nservices/api/secret.env\n"})
    write(tmp_path / "services" / "api", {"main.py": "", "main.pyc": "", "secret.env": ""})
    names = [i.relpath for i in source_files(tmp_path / "services" / "api", root=tmp_path)]
    assert names == ["main.py"]


def test_bundle_copies_the_files_and_has_a_stable_content_id(source: Path, tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "bundles")
    artifact = store.build(spec(source))
    assert artifact.kind == "bundle"
    assert len(artifact.ref) == 12
    assert artifact.digest == f"sha256:{artifact.digest.split(':')[1]}"
    assert artifact.digest.startswith(f"sha256:{artifact.ref}")
    assert bundled(store, artifact.ref) == {i.relpath for i in source_files(source)}
    assert (store.path(artifact.ref) / "app.py").read_text() == "print('hi')\n"
    assert store.planned(spec(source)) == artifact

    other = BundleStore(tmp_path / "elsewhere")
    assert other.build(spec(source)).ref == artifact.ref
    (source / "debug.log").write_text("ignored files do not change the id\n")
    assert store.build(spec(source)).ref == artifact.ref


@pytest.mark.parametrize(
    "change",
    ["content", "new file", "mode", "build command"],
)
def test_the_id_changes_with_content_mode_and_build_command(
    source: Path, tmp_path: Path, change: str
) -> None:
    store = BundleStore(tmp_path / "bundles")
    before = store.build(spec(source)).ref
    command = None
    if change == "content":
        (source / "app.py").write_text("print('bye')\n")
    elif change == "new file":
        (source / "pkg" / "extra.py").write_text("")
    elif change == "mode":
        (source / "app.py").chmod(0o755)
    else:
        command = "true"
    after = store.build(spec(source, build_command=command))
    assert after.ref != before
    assert store.complete(before)


def test_a_complete_bundle_is_reused_not_rebuilt(source: Path, tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "bundles")
    counter = tmp_path / "builds"
    service = spec(source, build_command=f"echo built >> {counter}")
    first = store.build(service)
    marker = store.path(first.ref) / "app.py"
    stamp = marker.stat().st_mtime_ns
    again = store.build(service)
    assert again.ref == first.ref
    assert marker.stat().st_mtime_ns == stamp
    assert counter.read_text() == "built\n"
    assert not [p for p in store.folder.iterdir() if p.name.startswith(".tmp-")]


def test_build_command_runs_inside_the_bundle_and_is_logged(source: Path, tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "bundles")
    artifact = store.build(spec(source, build_command="pwd > where.txt; echo done"))
    bundle = store.path(artifact.ref)
    assert (bundle / "where.txt").read_text().strip() == str(bundle)
    entries = [parse_line(line) for line in store.build_log(artifact.ref).read_text().splitlines()]
    assert "done" in [entry.message for entry in entries]
    assert {entry.stream for entry in entries} == {"build"}


def test_a_failed_build_leaves_no_bundle(source: Path, tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "bundles")
    service = spec(source, build_command="echo partial > out.txt; echo oops >&2; exit 2")
    with pytest.raises(DeployFailedError) as caught:
        store.build(service)
    assert caught.value.log_tail[-2:] == ["oops", "build command exited with code 2"]
    assert not [p for p in store.folder.iterdir() if p.is_dir()]
    with pytest.raises(DeployFailedError):
        store.build(service)


def test_symlinks_are_kept_as_links(source: Path, tmp_path: Path) -> None:
    os.symlink("app.py", source / "main.py")
    store = BundleStore(tmp_path / "bundles")
    link = store.path(store.build(spec(source)).ref) / "main.py"
    assert link.is_symlink()
    assert os.readlink(link) == "app.py"


def test_service_without_start_or_source_is_a_config_error(tmp_path: Path) -> None:
    store = BundleStore(tmp_path / "bundles")
    with pytest.raises(ConfigError, match="needs `start`"):
        store.build(spec(tmp_path, start=None))
    with pytest.raises(ConfigError, match="does not exist"):
        store.build(spec(tmp_path / "missing"))


def test_log_lines_round_trip() -> None:
    line = format_line("stderr", "a message with  spaces")
    entry = parse_line(line)
    assert (entry.stream, entry.message) == ("stderr", "a message with  spaces")
    assert entry.timestamp.tzinfo is not None
    assert parse_line("not a log line").message == "not a log line"
