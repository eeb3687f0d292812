"""Doctor checks on configs, a scripted git and fake providers (no repository, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.fakes.memory_provider import ALL, WITH_BACKUPS, MemoryProvider

from shipit.config.loader import LoadedConfig, parse_config
from shipit.config.overlay import Environment, resolve_environment
from shipit.core import doctor
from shipit.core.doctor import (
    CheckResult,
    check_allowed_hosts,
    check_backups,
    check_debug,
    check_dotenv,
    check_parity,
    check_secret_key,
    check_secret_values,
    check_token,
    host_allowed,
    looks_like_secret,
    run_checks,
)
from shipit.errors import AuthError, ProviderAPIError, UsageError
from shipit.providers.base import BackupStatus

GOOD = """
[project]
name = "demo"

[services.web]
start = "python3 app.py"
env = { DEBUG = "false", LOG_LEVEL = "info" }
secrets = ["SECRET_KEY"]
database = "postgres"

[environments.local]
env = { DEBUG = true, SECRET_KEY = "dev-only-not-secret" }

[environments.staging]
provider = "railway"
env = { WORKERS = 2 }
[environments.staging.railway]
project = "demo"

[environments.production]
provider = "fly"
env = { WORKERS = 4 }
[environments.production.fly]
app = "demo-web"
"""


def load(tmp_path: Path, text: str = GOOD) -> LoadedConfig:
    path = tmp_path / "shipit.toml"
    path.write_text(text)
    return parse_config(text, path)


def statuses(results: Sequence[CheckResult]) -> list[str]:
    return [r.status for r in results]


class Git:
    """A scripted git: answers by the first argument."""

    def __init__(self, *, repo: bool = True, files: Sequence[str] = (), ignored: bool = True):
        self.repo, self.files, self.ignored = repo, files, ignored

    def __call__(self, args: Sequence[str]) -> tuple[int, str]:
        if args[0] == "rev-parse":
            return (0, "true\n") if self.repo else (128, "")
        if args[0] == "ls-files":
            return 0, "".join(f"{f}\0" for f in self.files)
        if args[0] == "check-ignore":
            return (0 if self.ignored else 1), ""
        raise AssertionError(args)


def test_dotenv_outside_git_is_skipped(tmp_path: Path) -> None:
    (result,) = check_dotenv(tmp_path, Git(repo=False))
    assert result.status == "skip"


def test_dotenv_ignored_passes(tmp_path: Path) -> None:
    assert statuses(check_dotenv(tmp_path, Git(files=["app.py", ".env.example"]))) == ["pass"]


def test_committed_dotenv_fails_with_the_fix(tmp_path: Path) -> None:
    (result,) = check_dotenv(tmp_path, Git(files=["app.py", "config/.env.production"]))
    assert result.status == "fail"
    assert "config/.env.production committed" in result.message
    assert result.fix is not None
    assert "git rm --cached config/.env.production" in result.fix


def test_dotenv_not_ignored(tmp_path: Path) -> None:
    assert statuses(check_dotenv(tmp_path, Git(ignored=False))) == ["warn"]
    (tmp_path / ".env").write_text("A=1\n")
    (result,) = check_dotenv(tmp_path, Git(ignored=False))
    assert result.status == "fail"
    assert result.fix == "add a line `.env` to .gitignore"


def test_the_good_config_has_no_secret_values(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    envs = [resolve_environment(loaded, n) for n in loaded.config.environments]
    assert statuses(check_secret_values(loaded, envs)) == ["pass"]


def test_a_secret_value_for_a_remote_environment_fails_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("env = { WORKERS = 2 }", 'env = { WORKERS = 2, SECRET_KEY = "hunter2" }')
    loaded = load(tmp_path, text)
    staging = resolve_environment(loaded, "staging")
    (result,) = check_secret_values(loaded, [staging])
    assert result.status == "fail"
    line = text.splitlines().index('env = { WORKERS = 2, SECRET_KEY = "hunter2" }') + 1
    assert f"shipit.toml:{line}: environments.staging.env.SECRET_KEY" in result.message
    assert "hunter2" not in result.message
    assert result.fix is not None
    assert "shipit env set SECRET_KEY -e staging" in result.fix


def test_a_secret_value_for_local_is_allowed(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    assert statuses(check_secret_values(loaded, [resolve_environment(loaded, "local")])) == ["pass"]


@pytest.mark.parametrize(
    "value",
    [
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "sk_live_" + "51Habcdefghijklmnopqrstu",
        "AKIA" + "IOSFODNN7EXAMPLE",
        "postgres://app:s3cret@db.internal:5432/app",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "Zx81kQ2vLm9Tq4Rw7Yp3Nb6Hc5Jd0Fg",
    ],
)
def test_values_that_look_like_secrets(value: str) -> None:
    assert looks_like_secret(value) is not None


@pytest.mark.parametrize(
    "value",
    ["false", "info", "dev-only-not-secret", "https://example.com/path", "python3 app.py", "4"],
)
def test_ordinary_values(value: str) -> None:
    assert looks_like_secret(value) is None


def test_a_token_like_value_warns_with_its_key(tmp_path: Path) -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    loaded = load(tmp_path, GOOD.replace('LOG_LEVEL = "info"', f'GH = "{token}"'))
    results = check_secret_values(loaded, [])
    assert statuses(results) == ["warn"]
    assert "services.web.env.GH: the value looks like a GitHub token" in results[0].message
    assert token not in results[0].message


def test_debug_true_outside_local_fails(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, GOOD.replace("env = { WORKERS = 4 }", "env = { WORKERS = 4, DEBUG = true }")
    )
    (result,) = check_debug(resolve_environment(loaded, "production"))
    assert result.status == "fail"
    assert result.message == "DEBUG=true for service 'web' in 'production'"
    assert check_debug(resolve_environment(loaded, "local")) == []  # local may debug
    assert statuses(check_debug(resolve_environment(loaded, "staging"))) == ["pass"]


def test_secret_key_rules(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    for name in ("local", "staging", "production"):
        assert statuses(check_secret_key(resolve_environment(loaded, name))) == ["pass"]
    missing = load(
        tmp_path,
        GOOD.replace('secrets = ["SECRET_KEY"]', "").replace(
            ', SECRET_KEY = "dev-only-not-secret"', ""
        ),
    )
    (result,) = check_secret_key(resolve_environment(missing, "staging"))
    assert result.status == "fail"
    assert "no SECRET_KEY" in result.message
    plain = load(
        tmp_path,
        GOOD.replace('secrets = ["SECRET_KEY"]', "").replace(
            "env = { WORKERS = 2 }", 'env = { WORKERS = 2, SECRET_KEY = "x" }'
        ),
    )
    (result,) = check_secret_key(resolve_environment(plain, "staging"))
    assert result.status == "fail"
    assert "plain value" in result.message


def test_parity_passes_for_mirrored_environments(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    staging, production = (resolve_environment(loaded, n) for n in ("staging", "production"))
    assert statuses(check_parity(staging, production)) == ["pass"]


def test_staging_missing_a_variable_of_production_fails(tmp_path: Path) -> None:
    loaded = load(tmp_path, GOOD.replace("env = { WORKERS = 2 }", "env = {}"))
    staging, production = (resolve_environment(loaded, n) for n in ("staging", "production"))
    (result,) = check_parity(staging, production)
    assert result.status == "fail"
    assert result.message == "web: staging lacks variables that production has: WORKERS"


def test_parity_compares_database_engines(tmp_path: Path) -> None:
    text = GOOD + '\n[environments.staging.services.web]\ndatabase = "sqlite"\n'
    loaded = load(tmp_path, text)
    staging, production = (resolve_environment(loaded, n) for n in ("staging", "production"))
    (result,) = check_parity(staging, production)
    assert "staging database is sqlite, production's is postgres" in result.message


def test_allowed_hosts(tmp_path: Path) -> None:
    assert host_allowed("demo-web.fly.dev", [".fly.dev"])
    assert host_allowed("demo-web.fly.dev", ["example.com", "demo-web.fly.dev"])
    assert host_allowed("x.up.railway.app", ["*"])
    assert not host_allowed("demo-web.fly.dev", ["example.com"])
    text = GOOD.replace(
        "env = { WORKERS = 4 }", 'env = { WORKERS = 4, ALLOWED_HOSTS = "example.com" }'
    )
    production = resolve_environment(load(tmp_path, text), "production")
    (result,) = check_allowed_hosts(production, {"web": "https://demo-web.fly.dev"})
    assert result.status == "fail"
    assert result.fix == "add demo-web.fly.dev to ALLOWED_HOSTS for 'production'"
    (skipped,) = check_allowed_hosts(production, {"web": None})
    assert skipped.status == "skip"
    assert check_allowed_hosts(resolve_environment(load(tmp_path), "production"), {}) == []


def memory(backup: BackupStatus | Exception | None, *, reports: bool = True) -> MemoryProvider:
    """The in-memory provider answering ``backups`` with ``backup``."""
    return MemoryProvider(capabilities=WITH_BACKUPS if reports else ALL, backup=backup)


LATEST = datetime(2026, 8, 21, 3, 0, tzinfo=UTC)


def test_backups_pass_with_the_latest_time(tmp_path: Path) -> None:
    production = resolve_environment(load(tmp_path), "production")
    provider = memory(BackupStatus(True, "2 completed backups", latest=LATEST))
    (result,) = check_backups(production, provider)
    assert result.status == "pass"
    assert result.message == (
        "web: postgres has backups (2 completed backups; latest 2026-08-21T03:00:00+00:00)"
    )
    assert result.environment == "production"
    assert provider.calls == [("backups", "web")]
    (no_time,) = check_backups(production, memory(BackupStatus(True, "recovery available")))
    assert no_time.message == "web: postgres has backups (recovery available)"


def test_a_database_without_backups_fails_with_the_providers_fix(tmp_path: Path) -> None:
    production = resolve_environment(load(tmp_path), "production")
    (result,) = check_backups(production, memory(BackupStatus(False, "no backups of 'db'")))
    assert result.status == "fail"
    assert result.message == (
        "web: the production postgres database has no backups (no backups of 'db')"
    )
    assert result.fix == "create a backup schedule for the Managed Postgres cluster on Fly.io"
    text = GOOD.replace('provider = "fly"', 'provider = "render"').replace(
        '[environments.production.fly]\napp = "demo-web"',
        '[environments.production.render]\nowner = "tea-demo"',
    )
    render = resolve_environment(load(tmp_path, text), "production")
    (on_render,) = check_backups(render, memory(BackupStatus(False, "free plan")))
    assert on_render.fix is not None
    assert on_render.fix.startswith("enable point-in-time recovery: upgrade")
    assert doctor.backup_fix("acme") == "enable backups for it on acme before the next deploy"


def test_backups_are_skipped_without_the_capability_or_a_database(tmp_path: Path) -> None:
    production = resolve_environment(load(tmp_path), "production")
    provider = memory(BackupStatus(False, "never asked"), reports=False)
    (skipped,) = check_backups(production, provider)
    assert (skipped.status, skipped.message) == (
        "skip",
        "skipped: provider does not report backups",
    )
    assert provider.calls == []
    (unlinked,) = check_backups(production, memory(None))
    assert (unlinked.status, unlinked.message) == ("skip", "web: skipped: no database linked yet")
    (no_provider,) = check_backups(production, None, reason="provider does not report backups")
    assert no_provider.message == "skipped: provider does not report backups"
    no_db = resolve_environment(
        load(tmp_path, GOOD.replace('database = "postgres"\n', "")), "production"
    )
    assert check_backups(no_db, memory(BackupStatus(False, "x"))) == []


@pytest.mark.parametrize(
    "error",
    [
        ProviderAPIError("fly", "cluster not found", status=404, hint="check the cluster"),
        AuthError("fly API: HTTP 401: token refused", hint="set FLY_API_TOKEN"),
    ],
    ids=["api", "auth"],
)
def test_a_provider_error_is_a_warning_not_a_crash(tmp_path: Path, error: Exception) -> None:
    production = resolve_environment(load(tmp_path), "production")
    (result,) = check_backups(production, memory(error))
    assert result.status == "warn"
    assert result.message == f"web: backups could not be read: {error}"
    assert result.fix in {"check the cluster", "set FLY_API_TOKEN"}


def test_run_checks_asks_the_production_provider_for_backups(tmp_path: Path) -> None:
    provider = memory(BackupStatus(False, "no backups of 'demo-web-db'"))
    opened: list[str] = []

    def opener(env: Environment) -> MemoryProvider:
        opened.append(env.name)
        return provider

    report = run_checks(
        load(tmp_path),
        git=Git(),
        open_provider=opener,  # type: ignore[arg-type]
        token_lookup=lambda name: (f"{name.upper()}_TOKEN", None),
    )
    assert opened == ["production"]
    (failed,) = report.failed
    assert (failed.name, failed.environment) == ("database-backups", "production")
    assert ("close", "") in provider.calls
    provider.backup = ProviderAPIError("fly", "HTTP 503: busy")
    again = run_checks(
        load(tmp_path),
        "production",
        git=Git(),
        open_provider=lambda env: provider,  # type: ignore[arg-type,return-value]
        token_lookup=lambda name: ("FLY_API_TOKEN", None),
    )
    assert again.ok
    (warned,) = [c for c in again.checks if c.name == "database-backups"]
    assert warned.status == "warn"


def test_tokens(tmp_path: Path) -> None:
    staging = resolve_environment(load(tmp_path), "staging")
    assert check_token(resolve_environment(load(tmp_path), "local")) == []
    (found,) = check_token(staging, lambda provider: ("RAILWAY_API_TOKEN", None))
    assert found.status == "pass"
    (missing,) = check_token(staging, lambda provider: (None, None))
    assert missing.status == "fail"
    assert missing.fix == "set RAILWAY_API_TOKEN or RAILWAY_TOKEN, or run `shipit login railway`"
    both = UsageError("both RAILWAY_API_TOKEN and RAILWAY_TOKEN are set", hint="unset one")
    (clash,) = check_token(staging, lambda provider: (None, both))
    assert clash.status == "fail"
    assert clash.fix == "unset one"


def test_the_real_token_lookup_never_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shipit.credentials._prompt", lambda text: pytest.fail("prompted"))
    assert doctor.lookup_token_source("fly") == (None, None)
    monkeypatch.setenv("FLY_API_TOKEN", "fly-token-for-doctor-1")
    assert doctor.lookup_token_source("fly") == ("FLY_API_TOKEN", None)


def test_run_checks_on_a_good_config(tmp_path: Path) -> None:
    opened: list[str] = []

    def opener(env: Environment) -> object:
        opened.append(env.name)
        raise AuthError("no fly token", hint="set FLY_API_TOKEN")

    report = run_checks(
        load(tmp_path),
        git=Git(),
        open_provider=opener,  # type: ignore[arg-type]
        token_lookup=lambda provider: (f"{provider.upper()}_TOKEN", None),
    )
    assert report.ok, [c for c in report.checks if c.status == "fail"]
    names = {c.name for c in report.checks}
    assert {"dotenv-ignored", "no-secret-values", "token", "debug-off", "secret-key"} <= names
    assert {"staging-mirrors-production", "health-path", "database-backups"} <= names
    assert opened == ["production"]  # only for backups: fly reports them
    (backups,) = [c for c in report.checks if c.name == "database-backups"]
    assert (backups.status, backups.message) == (
        "skip",
        "skipped: provider unavailable: no fly token",
    )
    document = report.to_dict()
    assert document["ok"] is True
    assert set(document["checks"][0]) == {"name", "status", "environment", "message", "fix"}


def test_run_checks_for_one_environment(tmp_path: Path) -> None:
    report = run_checks(load(tmp_path), "local", git=Git(), token_lookup=lambda p: (None, None))
    assert report.ok
    assert {c.environment for c in report.checks} <= {None, "local"}
    assert "staging-mirrors-production" not in {c.name for c in report.checks}
