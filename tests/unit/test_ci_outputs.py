"""GitHub Actions outputs: ::error:: / ::warning:: lines and the step summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipit import ci
from shipit.cli import context, render
from shipit.core.engine import DeployResult, ServiceOutcome
from shipit.errors import AuthError, DeployFailedError
from shipit.providers.base import HealthResult
from shipit.sensitive import Secret
from shipit.ui import Output


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setattr(ci, "_summaries_written", 0)
    return summary


def healthy(name: str = "web") -> ServiceOutcome:
    return ServiceOutcome(
        service=name,
        ok=True,
        step="live",
        health=HealthResult("healthy", "HTTP 200"),
        url=f"https://{name}.example.test",
        release="abc123",
        release_name="v1.2",
        duration=12.34,
    )


def failed(name: str = "worker") -> ServiceOutcome:
    return ServiceOutcome(
        service=name,
        ok=False,
        step="health",
        url="https://worker.example.test",
        release="def456",
        error="not healthy after 30s (last: HTTP 503)",
        log_tail=("Traceback (most recent call last):", "KeyError: 'A|B'"),
        warnings=("worker: could not read logs: stream closed",),
        duration=30.5,
    )


def result(*outcomes: ServiceOutcome, **extra: object) -> DeployResult:
    return DeployResult(
        action="deploy",
        environment="staging",
        provider="railway",
        services=outcomes,
        release_name="v1.2",
        duration=42.0,
        extra=extra,
    )


def test_no_annotations_outside_github_actions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "s.md"))
    ci.annotate_error(AuthError("no railway token", hint="set RAILWAY_API_TOKEN"))
    ci.write_summary(result(healthy()))
    assert capsys.readouterr().err == ""
    assert not (tmp_path / "s.md").exists()


def test_an_error_becomes_one_error_line_with_its_hint(
    github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ci.annotate_error(AuthError("no railway token", hint="set RAILWAY_API_TOKEN"))
    err = capsys.readouterr().err
    assert err == "::error title=shipit::no railway token (hint: set RAILWAY_API_TOKEN)\n"


def test_a_failed_deploy_annotation_carries_the_log_tail_escaped(
    github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = DeployFailedError(
        "deploy of 'staging' failed: worker (health: 100% broken)",
        log_tail=[f"worker | line {i}" for i in range(10)],
    )
    ci.annotate_error(error)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("::error title=shipit::deploy of 'staging' failed")
    assert "100%25 broken" in line
    assert "%0Alast log lines:%0A" in line
    assert "worker | line 9" in line
    assert "worker | line 4" not in line  # only the last few lines


def test_secret_values_are_masked_in_annotations(
    github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value = Secret("annotation-secret-8842")
    ci.annotate("error", f"leaked {value.reveal()}")
    assert "annotation-secret-8842" not in capsys.readouterr().err


def test_summary_of_a_successful_deploy(github: Path) -> None:
    ci.write_summary(result(healthy()))
    text = github.read_text()
    assert "### ✅ shipit deploy to `staging` succeeded" in text
    assert "provider railway · duration 42.0s · release v1.2" in text
    assert "| web | live | abc123 (v1.2) | https://web.example.test | healthy | 12.3s |" in text


def test_summary_of_a_failed_deploy_names_the_step_error_and_logs(github: Path) -> None:
    ci.write_summary(result(healthy(), failed()))
    text = github.read_text()
    assert "### ❌ shipit deploy to `staging` FAILED" in text
    assert "| worker | failed at health | def456 | https://worker.example.test | failed |" in text
    assert "**worker** failed at health: not healthy after 30s (last: HTTP 503)" in text
    assert "KeyError: 'A|B'" in text  # inside the code block, verbatim
    assert "> warning: worker: could not read logs: stream closed" in text


def test_summary_cells_escape_pipes_and_promote_names_both_ends(github: Path) -> None:
    outcome = ServiceOutcome(service="web", ok=False, step="deploy", error="a|b", url=None)
    ci.write_summary(
        DeployResult("promote", "production", "fly", (outcome,), extra={"from": "staging"})
    )
    text = github.read_text()
    assert "shipit promote to `staging` → `production` FAILED" in text
    assert "| web | failed at deploy | - | - | failed |" in text


def test_summaries_append(github: Path) -> None:
    ci.write_summary(result(healthy()))
    ci.write_summary(result(failed()))
    text = github.read_text()
    assert text.count("### ") == 2


def test_an_error_before_any_result_is_summarised_once(github: Path) -> None:
    ci.annotate_error(AuthError("no fly token", hint="set FLY_API_TOKEN"))
    text = github.read_text()
    assert "shipit failed (exit 3)" in text
    assert "Fix: set FLY_API_TOKEN" in text


def test_a_failed_deploy_is_summarised_by_its_result_not_twice(github: Path) -> None:
    ci.write_summary(result(failed()))
    ci.annotate_error(DeployFailedError("deploy of 'staging' failed: worker"))
    assert github.read_text().count("### ") == 1


def test_show_result_writes_the_summary_and_warning_annotations(
    github: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "output", Output(json_mode=True))
    render.show_result(result(failed()))
    captured = capsys.readouterr()
    assert "::warning title=shipit::worker: could not read logs: stream closed" in captured.err
    assert '"ok": false' in captured.out
    assert "FAILED" in github.read_text()
