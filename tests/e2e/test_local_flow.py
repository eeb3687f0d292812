"""The walking skeleton end to end: the installed CLI deploys the example to the local provider."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import tomlkit
from tests.helpers import run_shipit

pytestmark = pytest.mark.e2e

PREVIEW_SECRETS = {"CI": "true", "SECRET_KEY": "preview-secret-value-31d9"}


def health_release(url: str) -> str:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
        assert response.status == 200
        return str(json.load(response)["release"])


def status_of(root: Path, env: str) -> dict:
    result = run_shipit("status", env, "--json", cwd=root)
    assert result.code == 0, result
    return result.json()["services"][0]


def test_deploy_local_serves_the_example(example_project: Path) -> None:
    deployed = run_shipit("deploy", "local", "--json", cwd=example_project)
    assert deployed.code == 0, deployed
    document = deployed.json()
    assert document["ok"] is True
    service = status_of(example_project, "local")
    assert service["state"] == "running"
    assert service["healthy"] is True
    assert service["url"].startswith("http://127.0.0.1:")
    assert health_release(service["url"]) == service["release"]
    assert document["services"][0]["release"] == service["release"]


def test_global_options_work_before_and_after_the_command(example_project: Path) -> None:
    before = run_shipit("--json", "-c", "shipit.toml", "status", "local", cwd=example_project)
    after = run_shipit("status", "local", "--json", "--config", "shipit.toml", cwd=example_project)
    assert before.code == after.code == 0
    assert json.loads(before.stdout)["environment"] == json.loads(after.stdout)["environment"]


def test_promote_reuses_the_artifact_and_rollback_restores_it(example_project: Path) -> None:
    assert run_shipit("deploy", "local", cwd=example_project).code == 0
    first = status_of(example_project, "local")["release"]
    bundles = example_project / ".shipit" / "bundles"
    built_before = sorted(p.name for p in bundles.iterdir())

    promoted = run_shipit(
        "promote",
        "--tag",
        "v0.1",
        "--from",
        "local",
        "--to",
        "preview",
        "--json",
        cwd=example_project,
        env=PREVIEW_SECRETS,
    )
    assert promoted.code == 0, promoted
    assert sorted(p.name for p in bundles.iterdir()) == built_before, "promote rebuilt"
    preview = status_of(example_project, "preview")
    assert preview["release"] == first
    assert preview["release_name"] == "v0.1"
    assert health_release(preview["url"]) == first

    app = example_project / "examples" / "app" / "app.py"
    app.write_text(app.read_text() + "\n# a source change\n")
    assert run_shipit("deploy", "local", cwd=example_project).code == 0
    second = status_of(example_project, "local")["release"]
    assert second != first
    promoted = run_shipit(
        "promote",
        "--tag",
        "v0.2",
        "--from",
        "local",
        "--to",
        "preview",
        cwd=example_project,
        env=PREVIEW_SECRETS,
    )
    assert promoted.code == 0, promoted
    assert health_release(status_of(example_project, "preview")["url"]) == second

    rolled = run_shipit("rollback", "preview", "--json", cwd=example_project, env=PREVIEW_SECRETS)
    assert rolled.code == 0, rolled
    preview = status_of(example_project, "preview")
    assert preview["release"] == first
    assert health_release(preview["url"]) == first

    releases = run_shipit("releases", "preview", "--json", cwd=example_project)
    names = [r["name"] for r in releases.json()["releases"]]
    assert "v0.1" in names and "v0.2" in names


def test_misspelt_key_names_file_and_line(example_project: Path) -> None:
    config = example_project / "shipit.toml"
    lines = config.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("health_path"))
    lines[index] = lines[index].replace("health_path", "helth_path")
    config.write_text("\n".join(lines) + "\n")
    result = run_shipit("deploy", "local", cwd=example_project)
    assert result.code == 2
    assert f"shipit.toml:{index + 1}: services.web.helth_path: unknown key" in result.stderr
    assert "Traceback" not in result.output


def test_failed_health_gate_exits_5_and_keeps_the_old_release(example_project: Path) -> None:
    assert run_shipit("deploy", "local", cwd=example_project).code == 0
    before = status_of(example_project, "local")
    config = example_project / "shipit.toml"
    document = tomlkit.parse(config.read_text())
    overrides = document["environments"]["local"].setdefault("services", tomlkit.table())
    web = overrides.setdefault("web", tomlkit.table())
    web["health_path"] = "/never-healthy"
    web["health_timeout"] = 3
    config.write_text(tomlkit.dumps(document))
    failed = run_shipit("deploy", "local", cwd=example_project)
    assert failed.code == 5, failed
    assert "last log lines" in failed.stderr
    assert "/never-healthy" in failed.stderr  # the app logged the probes it answered 404
    assert "Traceback" not in failed.output
    assert health_release(before["url"]) == before["release"]
    after = status_of(example_project, "local")
    assert after["url"] == before["url"] and after["release"] == before["release"]


def test_missing_secret_in_ci_exits_2_before_any_provider_call(example_project: Path) -> None:
    result = run_shipit("deploy", "preview", cwd=example_project, env={"CI": "true"})
    assert result.code == 2, result
    assert "SECRET_KEY" in result.stderr
    assert not (example_project / ".shipit" / "bundles").exists()


def test_ctrl_c_during_the_health_gate_stops_at_once_and_keeps_the_old_release(
    example_project: Path,
) -> None:
    import signal
    import subprocess
    import time

    from tests.helpers import shipit_executable

    assert run_shipit("deploy", "local", cwd=example_project).code == 0
    before = status_of(example_project, "local")
    config = example_project / "shipit.toml"
    document = tomlkit.parse(config.read_text())
    overrides = document["environments"]["local"].setdefault("services", tomlkit.table())
    overrides["web"] = {"health_path": "/never-healthy", "health_timeout": 120}
    config.write_text(tomlkit.dumps(document))

    with subprocess.Popen(
        [shipit_executable(), "deploy", "local"],
        cwd=example_project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as deploying:
        assert deploying.stderr is not None
        for line in deploying.stderr:  # wait until the health gate is polling
            if "health" in line:
                break
        time.sleep(1)
        interrupted = time.monotonic()
        deploying.send_signal(signal.SIGINT)
        _, stderr = deploying.communicate(timeout=30)
        took = time.monotonic() - interrupted
    assert deploying.returncode == 130, stderr
    assert took < 15, f"Ctrl-C took {took:.1f}s to take effect"
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert health_release(before["url"]) == before["release"]
    after = status_of(example_project, "local")
    assert (after["url"], after["release"]) == (before["url"], before["release"])
