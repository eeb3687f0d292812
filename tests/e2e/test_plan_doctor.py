"""The installed CLI: plan's exit codes and JSON, doctor's verdicts, every command's error codes."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import tomlkit
from tests.helpers import run_shipit

pytestmark = pytest.mark.e2e

FLY_TOKEN = "fake-fly-token-1"


@pytest.fixture
def fake_tokens() -> Iterator[dict[str, str]]:
    """Tokens for staging (Railway) and production (Fly), with Fly's API on a loopback fake.

    The doctor reads production's database backups from Fly, so Fly must answer: never the
    real api.fly.io from a test.
    """
    from tests.fakes.fly import fly_environment, fly_server

    with fly_server() as (server, state):
        state.tokens.add(FLY_TOKEN)
        yield {
            "RAILWAY_API_TOKEN": "fake-railway-token-1",
            **fly_environment(server.url, FLY_TOKEN),
        }


def edit(root: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Apply ``change`` to the project's shipit.toml document (comments survive)."""
    path = root / "shipit.toml"
    document = tomlkit.parse(path.read_text())
    change(document)
    path.write_text(tomlkit.dumps(document))


def mirror_staging(document) -> None:  # type: ignore[no-untyped-def]
    """Give staging every variable name production has (the rule doctor checks)."""
    production = document["environments"]["production"]
    staging = document["environments"]["staging"]
    names = set(production.get("env", {}))
    for override in production.get("services", {}).values():
        names |= set(override.get("env", {}))
    env = staging.setdefault("env", tomlkit.inline_table())
    for name in sorted(names - set(env)):
        env[name] = production.get("env", {}).get(name, "1")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.test", "-c", "user.name=ci", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


# plan -------------------------------------------------------------------------------------
def test_plan_exit_codes_before_and_after_the_first_deploy(example_project: Path) -> None:
    before = run_shipit("plan", "local", "--detailed-exit-code", cwd=example_project)
    assert before.code == 2, before
    assert "create" in before.stdout
    assert "SECRET_KEY" in before.stdout
    assert "dev-only-not-secret" not in before.output  # a secret's plain local value

    listed = run_shipit("plan", "local", "--json", cwd=example_project)
    assert listed.code == 0, listed  # without --detailed-exit-code, a plan is a success
    document = listed.json()
    assert document["changes"] is True
    (web,) = document["services"]
    assert web["action"] == "create"
    actions = {c["name"]: c["action"] for c in web["env"]}
    assert actions.items() >= {"DEBUG": "add", "SECRET_KEY": "add"}.items()
    assert web["artifact"]["planned"]["kind"] == "bundle"
    assert web["database"] == {"kind": "postgres", "action": "link", "variable": "DATABASE_URL"}

    deployed = run_shipit("deploy", "local", "--json", cwd=example_project)
    assert deployed.code == 0, deployed
    assert deployed.json()["services"][0]["release"] == web["artifact"]["planned"]["ref"]

    after = run_shipit("plan", "local", "--detailed-exit-code", "--json", cwd=example_project)
    assert after.code == 0, after
    assert after.json()["changes"] is False
    assert after.json()["services"][0]["restart"] is True


def test_deploy_plan_prints_the_plan_and_changes_nothing(example_project: Path) -> None:
    shown = run_shipit("deploy", "local", "--plan", "--json", cwd=example_project)
    assert shown.code == 0, shown
    assert shown.json()["changes"] is True
    assert not (example_project / ".shipit" / "bundles").exists()
    status = run_shipit("status", "local", "--json", cwd=example_project)
    assert status.json()["services"][0]["release"] is None


def test_a_changed_secret_shows_changed_and_never_the_value(example_project: Path) -> None:
    first, second = "first-preview-secret-5b1c", "second-preview-secret-9d2e"
    ci = {"CI": "true", "SHIPIT_FINGERPRINT_KEY": "e2e-fingerprint-key"}
    deployed = run_shipit("deploy", "preview", cwd=example_project, env={**ci, "SECRET_KEY": first})
    assert deployed.code == 0, deployed

    same = run_shipit(
        "plan",
        "preview",
        "--detailed-exit-code",
        cwd=example_project,
        env={**ci, "SECRET_KEY": first},
    )
    assert same.code == 0, same

    changed = run_shipit(
        "plan",
        "preview",
        "--detailed-exit-code",
        cwd=example_project,
        env={**ci, "SECRET_KEY": second},
    )
    assert changed.code == 2, changed
    assert "SECRET_KEY: changed (fp " in changed.stdout
    assert first not in changed.output
    assert second not in changed.output

    as_json = run_shipit(
        "plan", "preview", "--json", cwd=example_project, env={**ci, "SECRET_KEY": second}
    )
    (change,) = as_json.json()["services"][0]["env"]
    assert change["name"] == "SECRET_KEY"
    assert change["action"] == "change"
    assert change["old_fingerprint"] != change["new_fingerprint"]
    assert first not in as_json.output
    assert second not in as_json.output


# doctor -----------------------------------------------------------------------------------
def test_doctor_passes_on_the_example(example_project: Path, fake_tokens: dict[str, str]) -> None:
    edit(example_project, mirror_staging)
    result = run_shipit("doctor", cwd=example_project, env=fake_tokens)
    assert result.code == 0, result
    as_json = run_shipit("doctor", "--json", cwd=example_project, env=fake_tokens)
    assert as_json.code == 0, as_json
    document = as_json.json()
    assert document["ok"] is True
    assert {c["status"] for c in document["checks"]} <= {"pass", "warn", "skip"}
    backups = next(c for c in document["checks"] if c["name"] == "database-backups")
    assert backups["status"] == "skip", backups  # asked the fake Fly: no database linked yet
    assert "no database linked yet" in backups["message"]
    local = run_shipit("doctor", "local", cwd=example_project)  # no token needed for local
    assert local.code == 0, local


def failing(root: Path, tokens: dict[str, str], *args: str) -> dict:
    result = run_shipit("doctor", *args, "--json", cwd=root, env=tokens)
    assert result.code == 5, result
    document = result.json()  # exactly one JSON document, even on failure
    assert document["ok"] is False
    assert "error: " in result.stderr
    return {c["name"]: c for c in document["checks"] if c["status"] == "fail"}


def test_doctor_fails_on_a_committed_dotenv(
    example_project: Path, fake_tokens: dict[str, str]
) -> None:
    edit(example_project, mirror_staging)
    (example_project / ".env").write_text("SECRET_KEY=committed-by-mistake\n")
    git(example_project, "init", "-q")
    git(example_project, "add", ".")
    git(example_project, "commit", "-q", "-m", "init")
    failed = failing(example_project, fake_tokens)
    assert set(failed) == {"dotenv-ignored"}
    assert ".env committed to git" in failed["dotenv-ignored"]["message"]
    assert "git rm --cached .env" in failed["dotenv-ignored"]["fix"]


def test_doctor_fails_on_debug_in_production(
    example_project: Path, fake_tokens: dict[str, str]
) -> None:
    def debug_on(document) -> None:  # type: ignore[no-untyped-def]
        mirror_staging(document)
        document["environments"]["production"]["env"]["DEBUG"] = True

    edit(example_project, debug_on)
    failed = failing(example_project, fake_tokens)
    assert set(failed) == {"debug-off"}
    assert failed["debug-off"]["message"] == "DEBUG=true for service 'web' in 'production'"
    assert failed["debug-off"]["environment"] == "production"


def test_doctor_fails_on_a_secret_value_in_shipit_toml(
    example_project: Path, fake_tokens: dict[str, str]
) -> None:
    def leak(document) -> None:  # type: ignore[no-untyped-def]
        mirror_staging(document)
        document["environments"]["staging"]["env"]["SECRET_KEY"] = "written-into-the-file-77"

    edit(example_project, leak)
    result = run_shipit("doctor", "staging", cwd=example_project, env=fake_tokens)
    assert result.code == 5, result
    assert "environments.staging.env.SECRET_KEY: SECRET_KEY is listed as a secret" in result.stdout
    assert "shipit env set SECRET_KEY -e staging" in result.stdout
    assert "written-into-the-file-77" not in result.output
    assert "error: 1 check(s) failed: no-secret-values" in result.stderr


def test_doctor_fails_when_staging_lacks_a_variable_of_production(
    example_project: Path, fake_tokens: dict[str, str]
) -> None:
    def extra(document) -> None:  # type: ignore[no-untyped-def]
        mirror_staging(document)
        document["environments"]["production"]["env"]["SENTRY_DSN"] = "https://sentry.example"

    edit(example_project, extra)
    failed = failing(example_project, fake_tokens)
    assert set(failed) == {"staging-mirrors-production"}
    assert failed["staging-mirrors-production"]["message"] == (
        "web: staging lacks variables that production has: SENTRY_DSN"
    )


# exit codes of every command's failure paths ----------------------------------------------
def break_config(root: Path) -> None:
    (root / "shipit.toml").write_text(
        (root / "shipit.toml").read_text().replace("[project]", "[project]\nnmae = 'x'", 1)
    )


def failing_health(root: Path) -> None:
    def change(document) -> None:  # type: ignore[no-untyped-def]
        document["services"]["web"]["health_path"] = "/missing"
        document["services"]["web"]["health_timeout"] = 2

    edit(root, change)


NO_CHANGE = None
PREVIEW = {"CI": "true", "SECRET_KEY": "exit-code-secret-4410"}
STAGING = {"CI": "true", "SECRET_KEY": "exit-code-secret-4410"}

CASES = [
    ("unknown command", NO_CHANGE, ["frobnicate"], {}, 2, "No such command"),
    ("unknown option", NO_CHANGE, ["deploy", "local", "--nope"], {}, 2, "No such option"),
    ("bad config deploy", break_config, ["deploy", "local"], {}, 2, "unknown key 'nmae'"),
    ("bad config plan", break_config, ["plan", "local"], {}, 2, "unknown key 'nmae'"),
    ("bad config doctor", break_config, ["doctor"], {}, 2, "unknown key 'nmae'"),
    ("unknown env deploy", NO_CHANGE, ["deploy", "nowhere"], {}, 2, "no environment 'nowhere'"),
    ("unknown env plan", NO_CHANGE, ["plan", "nowhere"], {}, 2, "no environment 'nowhere'"),
    ("unknown env doctor", NO_CHANGE, ["doctor", "nowhere"], {}, 2, "no environment 'nowhere'"),
    ("unknown service", NO_CHANGE, ["plan", "local", "-s", "api"], {}, 2, "unknown service"),
    ("missing secret", NO_CHANGE, ["deploy", "preview"], {"CI": "true"}, 2, "SECRET_KEY"),
    ("missing token deploy", NO_CHANGE, ["deploy", "staging"], STAGING, 3, "no railway token"),
    ("missing token plan", NO_CHANGE, ["plan", "staging"], STAGING, 3, "no railway token"),
    ("health failure", failing_health, ["deploy", "local"], {}, 5, "not healthy after 2s"),
    ("doctor failure", NO_CHANGE, ["doctor"], {}, 5, "check(s) failed"),
    (
        "nothing to promote",
        NO_CHANGE,
        ["promote", "--from", "local", "--to", "preview"],
        PREVIEW,
        2,
        "nothing is live",
    ),
]


@pytest.mark.parametrize(
    ("change", "args", "env", "code", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_exit_codes(
    example_project: Path,
    change,  # type: ignore[no-untyped-def]
    args: list[str],
    env: dict[str, str],
    code: int,
    message: str,
) -> None:
    if change is not None:
        change(example_project)
    result = run_shipit(*args, cwd=example_project, env=env)
    assert result.code == code, result
    assert message in result.stderr, result
    assert "Traceback" not in result.output


@pytest.fixture
def broken_api() -> Iterator[str]:
    """A loopback API that answers every request with HTTP 500 (not retried)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"errors": [{"message": "internal failure"}]}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/graphql/v2"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_provider_api_error_exits_4(example_project: Path, broken_api: str) -> None:
    env = {
        **STAGING,
        "RAILWAY_API_TOKEN": "fake-railway-token-1",
        "SHIPIT_RAILWAY_API_URL": broken_api,
    }
    result = run_shipit("plan", "staging", cwd=example_project, env=env)
    assert result.code == 4, result
    assert "railway API" in result.stderr
    assert "HTTP 500" in result.stderr


def test_a_failed_deploy_under_github_actions(example_project: Path, tmp_path: Path) -> None:
    failing_health(example_project)
    summary = tmp_path / "step-summary.md"
    env = {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_shipit("deploy", "local", "--json", cwd=example_project, env=env)
    assert result.code == 5, result
    document = json.loads(result.stdout)  # one document: the result, saying ok: false
    assert document["ok"] is False
    assert document["services"][0]["step"] == "health"
    errors = [line for line in result.stderr.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1
    assert "deploy of 'local' failed: web (health: not healthy after 2s" in errors[0]
    assert "\x1b[" not in result.stderr  # plain output in CI
    text = summary.read_text()
    assert "shipit deploy to `local` FAILED" in text
    assert "| web | failed at health |" in text
    assert "last log lines" in text
    assert "GET /missing" in text


def test_a_healthy_deploy_under_github_actions(example_project: Path, tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    env = {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_shipit("deploy", "local", "--tag", "v9", cwd=example_project, env=env)
    assert result.code == 0, result
    assert "::error" not in result.stderr
    text = summary.read_text()
    assert "shipit deploy to `local` succeeded" in text
    assert "| web | live |" in text
    assert "(v9) | http://127.0.0.1:" in text
    assert "| healthy |" in text
