"""Secrets through a real Secret Service keyring (gnome-keyring under dbus-run-session).

The installed ``shipit`` runs as a subprocess with the example config; the keyring daemon keeps its
files outside the project and HOME, and is stopped when the module's tests are done.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from tests.e2e.keyring_session import KeyringSession
from tests.fakes.server import FakeRequest, FakeResponse, FakeServer
from tests.helpers import REPO_ROOT, Run, run_shipit

from shipit.envfile import parse_dotenv

pytestmark = [pytest.mark.e2e, pytest.mark.keyring]

GOOD_TOKEN = "railway-token-e2e-4c1d"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The example config with a project name of its own, so tests share no keyring entries."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "examples" / "app", root / "examples" / "app")
    text = (REPO_ROOT / "shipit.example.toml").read_text()
    name = f"e2e-{tmp_path.name[-24:].lower().replace('_', '-')}".rstrip("-")
    (root / "shipit.example.toml").write_text(text.replace('name = "example"', f'name = "{name}"'))
    return root


def shipit(
    session: KeyringSession, project: Path, *args: str, stdin: str | None = None, **env: str
):  # type: ignore[no-untyped-def]
    return run_shipit(
        "-c", "shipit.example.toml", *args, cwd=project, env=session.env(**env), input=stdin
    )


def test_set_then_list_masked(session: KeyringSession, project: Path) -> None:
    stored = shipit(session, project, "env", "set", "SECRET_KEY", "-", "-e", "preview", stdin="v")
    assert stored.code == 0, stored
    assert "stored SECRET_KEY for environment 'preview'" in stored.stdout
    listed = shipit(session, project, "env", "list", "-e", "preview")
    assert listed.code == 0, listed
    row = next(line for line in listed.stdout.splitlines() if line.startswith("SECRET_KEY"))
    assert row.split("\t") == ["SECRET_KEY", "web", "env", "keyring", "[REDACTED]"]
    revealed = shipit(session, project, "env", "list", "-e", "preview", "--reveal", "--json")
    rows = {r["name"]: r for r in revealed.json()["variables"]}
    assert rows["SECRET_KEY"]["value"] == "v"
    assert rows["SECRET_KEY"]["where"].endswith(":preview")
    checked = shipit(session, project, "env", "check", "preview")
    assert checked.code == 0, checked
    assert "from the keyring" in checked.stdout


def test_ci_takes_secrets_from_env_vars_without_a_keyring(project: Path) -> None:
    no_keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "CI": "true"}
    config = ("-c", "shipit.example.toml")
    ok = run_shipit(
        *config, "env", "check", "preview", cwd=project, env={**no_keyring, "SECRET_KEY": "x"}
    )
    assert ok.code == 0, ok
    assert "from environment variables" in ok.stdout
    missing = run_shipit(*config, "deploy", "preview", cwd=project, env=no_keyring)
    assert missing.code == 2, missing
    assert "missing secrets for environment 'preview': SECRET_KEY" in missing.stderr
    assert "export SECRET_KEY" in missing.stderr
    assert not (project / ".shipit").exists()  # failed before any provider call
    outside_ci = run_shipit(
        *config,
        "deploy",
        "preview",
        cwd=project,
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "CI": "false"},
    )
    assert outside_ci.code == 2
    assert "no keyring backend is available" in outside_ci.stderr
    assert "CI=true SECRET_KEY=..." in outside_ci.stderr


def test_ci_deploy_resolves_from_env_vars(example_project: Path) -> None:
    env = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "CI": "true",
        "SECRET_KEY": "x-ci-secret-e2e",
    }
    deployed = run_shipit("deploy", "preview", "--json", cwd=example_project, env=env)
    assert deployed.code == 0, deployed
    assert "x-ci-secret-e2e" not in deployed.output


DOTENV = """\
# a .env with everything python-dotenv understands
export SECRET_KEY="s3cr3t with spaces # and a hash"
DEBUG=true
GREETING='single quoted # not a comment'
CERT="-----BEGIN CERT-----
line two
-----END CERT-----"
export PATH_LIKE=/usr/local/bin:/usr/bin
ESCAPED="a \\"quote\\" inside"
"""


def test_import_round_trips_through_export(session: KeyringSession, project: Path) -> None:
    (project / "in.env").write_text(DOTENV)
    imported = shipit(session, project, "env", "import", "in.env", "-e", "preview")
    assert imported.code == 0, imported
    assert "stored 1 secret (SECRET_KEY)" in imported.stdout
    config = (project / "shipit.example.toml").read_text()
    assert "s3cr3t" not in config
    assert "# Railway (GraphQL API)" in config  # comments kept
    exported = shipit(session, project, "env", "export", "-e", "preview", "--reveal")
    assert exported.code == 0, exported
    values = parse_dotenv(exported.stdout).values
    expected = parse_dotenv(DOTENV).values
    assert {name: values[name] for name in expected} == expected
    as_json = shipit(
        session, project, "env", "export", "-e", "preview", "--reveal", "--format", "json"
    )
    assert json.loads(as_json.stdout) == values
    hidden = shipit(session, project, "env", "export", "-e", "preview")
    assert "SECRET_KEY" not in hidden.stdout
    assert "omitted secret SECRET_KEY" in hidden.stderr


def test_diff_shows_a_differing_secret_without_its_value(
    session: KeyringSession, project: Path
) -> None:
    for env, value in (("preview", "preview-value-9f1"), ("staging", "staging-value-2c7")):
        stored = shipit(session, project, "env", "set", "SECRET_KEY", "-", "-e", env, stdin=value)
        assert stored.code == 0, stored
    diff = shipit(session, project, "env", "diff", "preview", "staging")
    assert diff.code == 0, diff
    row = next(line for line in diff.stdout.splitlines() if "\tSECRET_KEY\t" in line)
    service, name, kind, status, a, b = row.split("\t")
    assert (service, name, kind, status) == ("web", "SECRET_KEY", "secret", "changed")
    assert a.startswith("fp ") and b.startswith("fp ") and a != b
    for value in ("preview-value-9f1", "staging-value-2c7"):
        assert value not in diff.output
    again = shipit(session, project, "--json", "env", "diff", "preview", "staging")
    rows = {r["name"]: r for r in again.json()["rows"] if r["service"] == "web"}
    assert (rows["SECRET_KEY"]["a"], rows["SECRET_KEY"]["b"]) == (a, b)  # a stable keyring key
    assert again.json()["fingerprint_key"] == "keyring"


def railway_app(request: FakeRequest) -> FakeResponse:
    if request.headers.get("authorization") != f"Bearer {GOOD_TOKEN}":
        return FakeResponse.json({"data": None, "errors": [{"message": "Not Authorized"}]})
    return FakeResponse.json({"data": {"me": {"id": "u1", "email": "dev@example.com"}}})


def test_login_stores_only_a_working_token(session: KeyringSession, project: Path) -> None:
    with FakeServer(railway_app) as server:
        url = {"SHIPIT_RAILWAY_API_URL": f"{server.url}/graphql/v2"}
        bad = shipit(session, project, "login", "railway", "--token-stdin", stdin="nope\n", **url)
        assert bad.code == 3, bad
        good = shipit(
            session, project, "login", "railway", "--token-stdin", stdin=f"{GOOD_TOKEN}\n", **url
        )
        assert good.code == 0, good
        assert "logged in to railway as dev@example.com" in good.stdout
    probe = (
        "from shipit.credentials import lookup_token;"
        "t = lookup_token('railway', prompt=False);"
        "print(t.source, t.kind, t.value.reveal() == 'railway-token-e2e-4c1d')"
    )
    import subprocess

    found = subprocess.run(
        ["python3", "-c", probe],
        env={**os.environ, **session.env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.stdout.split() == ["keyring", "bearer", "True"], found.stderr
    out = shipit(session, project, "logout", "railway")
    assert out.code == 0
    assert "removed the stored token of railway" in out.stdout
    again = shipit(session, project, "logout", "railway")
    assert "no stored token" in again.stderr


def test_locked_keyring_fails_fast_with_the_fix(tmp_path: Path, project: Path) -> None:
    with KeyringSession(tmp_path / "locked", unlock=False) as locked:
        result = shipit(
            locked, project, "env", "set", "SECRET_KEY", "-", "-e", "preview", stdin="v"
        )
    assert result.code == 2, result
    assert "keyring" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_local_needs_no_keyring(project: Path) -> None:
    result = run_shipit(
        "-c",
        "shipit.example.toml",
        "env",
        "check",
        "local",
        cwd=project,
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )
    assert result.code == 0, result
    assert "no secrets needed" in result.stdout


def test_a_keyring_secret_reaches_the_deployed_process(
    session: KeyringSession, example_project: Path
) -> None:
    """`env set SECRET_KEY - -e preview`, then `deploy preview`: the process has SECRET_KEY=v."""

    def cli(*args: str, stdin: str | None = None) -> Run:
        return run_shipit(*args, cwd=example_project, env=session.env(), input=stdin)

    stored = cli("env", "set", "SECRET_KEY", "-", "-e", "preview", stdin="v-keyring-e2e")
    assert stored.code == 0, stored
    deployed = cli("deploy", "preview")
    assert deployed.code == 0, deployed
    assert "v-keyring-e2e" not in deployed.output
    status = cli("status", "preview", "--json")
    pid = status.json()["services"][0]["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"SECRET_KEY=v-keyring-e2e" in environ
    assert not any(
        b"v-keyring-e2e" in path.read_bytes()
        for path in example_project.rglob("*")
        if path.is_file()
    )
