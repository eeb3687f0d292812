"""The project's deploy rules as checks: each says pass, warn, fail or skip, and how to fix it.

Each check is a small function returning :class:`CheckResult` values. The config checks are
pure (they read the loaded config only); the others take what they need to read as arguments
(a git runner, a provider opener, a token lookup), so tests drive them without a repository,
network or keyring. :func:`run_checks` wires in the real ones.

The rules:

- ``.env`` is git-ignored and not committed (neither are ``.env.*`` files other than templates);
- no secret value in shipit.toml: a name a service lists under ``secrets`` must not get a plain
  value in an environment whose provider is not ``local`` (fail); a plain value that looks like
  a token, key or password is a warning anywhere in the file;
- ``DEBUG`` is false outside ``local`` providers;
- ``SECRET_KEY`` is set for every service that serves HTTP (every service has a port): as a
  secret, or as a plain value on a ``local`` provider;
- ``ALLOWED_HOSTS``, where set, covers the host the provider serves the service on;
- staging mirrors production: same services, database engines and variable names;
- a production database has backups, where the provider reports it;
- every service has a health path;
- every environment's provider token can be found (without prompting).
"""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from shipit.config.loader import LoadedConfig, display_path
from shipit.config.overlay import Environment, ServiceSpec, env_text, resolve_environment
from shipit.errors import ShipitError
from shipit.providers.base import Capability, ReportsBackups

if TYPE_CHECKING:
    from shipit.providers.base import Provider

Status = Literal["pass", "warn", "fail", "skip"]
GitRunner = Callable[[Sequence[str]], "tuple[int, str]"]

LOCAL = "local"
DEBUG_NAMES = ("DEBUG", "DJANGO_DEBUG", "FLASK_DEBUG")
TRUE_TEXTS = frozenset({"1", "true", "yes", "on", "y", "t"})
DOTENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
STAGING, PRODUCTION = "staging", "production"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: ``fix`` says exactly what to do when it is not a pass."""

    name: str
    status: Status
    message: str
    fix: str | None = None
    environment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "name": self.name,
            "status": self.status,
            "environment": self.environment,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every check's result; ``ok`` when none failed."""

    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings and skips do not fail)."""
        return not self.failed

    @property
    def failed(self) -> list[CheckResult]:
        """The failing checks."""
        return [c for c in self.checks if c.status == "fail"]

    def to_dict(self) -> dict[str, Any]:
        """``{"ok": bool, "checks": [...]}``."""
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


# .env -------------------------------------------------------------------------------------
def run_git(root: Path) -> GitRunner:
    """A git runner for the project at ``root``: ``(returncode, stdout)``; -1 without git."""

    def run(args: Sequence[str]) -> tuple[int, str]:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return -1, ""
        return done.returncode, done.stdout

    return run


def is_dotenv(path: str) -> bool:
    """True for ``.env`` and ``.env.*`` files, except templates such as ``.env.example``."""
    name = PurePosixPath(path).name
    return name == ".env" or (name.startswith(".env.") and name not in DOTENV_TEMPLATES)


def check_dotenv(root: Path, git: GitRunner) -> list[CheckResult]:
    """``.env`` is git-ignored and no dotenv file is committed."""
    name = "dotenv-ignored"
    code, inside = git(["rev-parse", "--is-inside-work-tree"])
    if code != 0 or inside.strip() != "true":
        reason = "git is not installed" if code == -1 else "not a git repository"
        return [CheckResult(name, "skip", f"{reason}; .env cannot be checked")]
    _, listed = git(["ls-files", "-z", "--full-name", "--", "."])
    committed = sorted(p for p in listed.split("\0") if p and is_dotenv(p))
    if committed:
        files = " ".join(committed)
        return [
            CheckResult(
                name,
                "fail",
                f"{', '.join(committed)} committed to git: every value in it is exposed",
                fix=f"git rm --cached {files} && echo .env >> .gitignore; then rotate every "
                "value the file held and keep them with `shipit env set NAME`",
            )
        ]
    ignored, _ = git(["check-ignore", "-q", "--no-index", ".env"])
    if ignored == 0:
        return [CheckResult(name, "pass", ".env is git-ignored and not committed")]
    exists = (root / ".env").exists()
    return [
        CheckResult(
            name,
            "fail" if exists else "warn",
            ".env exists and is not git-ignored"
            if exists
            else ".env is not git-ignored (there is none yet)",
            fix="add a line `.env` to .gitignore",
        )
    ]


# secret values in shipit.toml -------------------------------------------------------------
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("ghp_", "a GitHub token"),
    ("gho_", "a GitHub token"),
    ("ghu_", "a GitHub token"),
    ("ghs_", "a GitHub token"),
    ("ghr_", "a GitHub token"),
    ("github_pat_", "a GitHub token"),
    ("glpat-", "a GitLab token"),
    ("xoxb-", "a Slack token"),
    ("xoxp-", "a Slack token"),
    ("xapp-", "a Slack token"),
    ("sk_live_", "a Stripe key"),
    ("sk_test_", "a Stripe key"),
    ("rk_live_", "a Stripe key"),
    ("whsec_", "a webhook secret"),
    ("sk-", "an API key"),
    ("AKIA", "an AWS access key"),
    ("ASIA", "an AWS access key"),
    ("AIza", "a Google API key"),
    ("SG.", "a SendGrid key"),
    ("npm_", "an npm token"),
    ("pypi-", "a PyPI token"),
    ("dop_v1_", "a DigitalOcean token"),
    ("rnd_", "a Render API key"),
    ("FlyV1 ", "a Fly.io token"),
    ("fm2_", "a Fly.io token"),
    ("-----BEGIN", "a private key"),
)
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.\-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-.~]+$")
_HEX = re.compile(r"^[0-9a-fA-F]{32,}$")
_SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)")


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_secret(value: str) -> str | None:
    """Why ``value`` looks like a token, key or password; None when it does not."""
    for prefix, kind in _PREFIXES:
        if value.startswith(prefix) and len(value) >= len(prefix) + 12:
            return f"looks like {kind}"
    if _URL_PASSWORD.match(value):
        return "is a URL with a password"
    if _HEX.match(value):
        return "looks like a hex key"
    if (
        len(value) >= 24
        and _TOKEN_CHARS.match(value)
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and entropy(value) >= 4.0
    ):
        return "looks like a random token (high entropy)"
    return None


def plain_values(loaded: LoadedConfig) -> Iterator[tuple[tuple[str, ...], str, str | None]]:
    """Every plain value in shipit.toml: its key path, text and environment (None = service)."""
    config = loaded.config
    for service_name, service in config.services.items():
        for key, value in service.env.items():
            yield ("services", service_name, "env", key), env_text(value), None
        if service.build is not None:
            for key, text in service.build.args.items():
                yield ("services", service_name, "build", "args", key), text, None
    for env_name, env in config.environments.items():
        for key, value in env.env.items():
            yield ("environments", env_name, "env", key), env_text(value), env_name
        for service_name, override in env.services.items():
            for key, value in override.env.items():
                path = ("environments", env_name, "services", service_name, "env", key)
                yield path, env_text(value), env_name


def _where(loaded: LoadedConfig, path: Sequence[str]) -> str:
    line = loaded.line_of(*path)
    location = display_path(loaded.path) + (f":{line}" if line else "")
    return f"{location}: {'.'.join(path)}"


def check_secret_values(loaded: LoadedConfig, envs: Iterable[Environment]) -> list[CheckResult]:
    """No secret value written into shipit.toml for a non-local environment; token-like warns."""
    name = "no-secret-values"
    results: list[CheckResult] = []
    failed: set[tuple[str, ...]] = set()
    for env in envs:
        if env.provider == LOCAL:
            continue
        for key in _plain_secret_paths(loaded, env):
            failed.add(key)
            variable = key[-1]
            results.append(
                CheckResult(
                    name,
                    "fail",
                    f"{_where(loaded, key)}: {variable} is listed as a secret but has a plain "
                    f"value for {env.name!r} ({env.provider})",
                    fix=f"delete the value from shipit.toml and store it with "
                    f"`shipit env set {variable} -e {env.name}` (in CI: a {variable} variable)",
                    environment=env.name,
                )
            )
    providers = {name: env.provider for name, env in loaded.config.environments.items()}
    for key, text, env_name in plain_values(loaded):
        if key in failed:
            continue
        reason = looks_like_secret(text)
        remote = env_name is not None and providers.get(env_name) != LOCAL
        if reason is None and remote and _SECRET_NAME.search(key[-1]) and text:
            reason = "is named like a secret"
        if reason is None:
            continue
        results.append(
            CheckResult(
                name,
                "warn",
                f"{_where(loaded, key)}: the value {reason}",
                fix=f"if it is a secret: add {key[-1]!r} to the service's `secrets`, delete the "
                f"value and run `shipit env set {key[-1]}`",
                environment=env_name,
            )
        )
    if not results:
        results.append(CheckResult(name, "pass", "shipit.toml holds no secret values"))
    return results


def _plain_secret_paths(loaded: LoadedConfig, env: Environment) -> list[tuple[str, ...]]:
    """Where ``env`` gives a plain value to a name that a service lists as a secret."""
    block = loaded.config.environments[env.name]
    paths: list[tuple[str, ...]] = []
    for spec in env.services.values():
        for variable in spec.plain_secrets:
            override = block.services.get(spec.name)
            key: tuple[str, ...]
            if override is not None and variable in override.env:
                key = ("environments", env.name, "services", spec.name, "env", variable)
            else:
                key = ("environments", env.name, "env", variable)
            if key not in paths:
                paths.append(key)
    return paths


# per-environment config rules -------------------------------------------------------------
def check_debug(env: Environment) -> list[CheckResult]:
    """DEBUG is false outside the local provider."""
    name = "debug-off"
    if env.provider == LOCAL:
        return []
    results = [
        CheckResult(
            name,
            "fail",
            f"{variable}={spec.env[variable]} for service {spec.name!r} in {env.name!r}",
            fix=f'set {variable} = "false" in [environments.{env.name}] env (debug pages show '
            "settings and stack traces to anyone)",
            environment=env.name,
        )
        for spec in env.services.values()
        for variable in DEBUG_NAMES
        if spec.env.get(variable, "").strip().lower() in TRUE_TEXTS
    ]
    return results or [CheckResult(name, "pass", "DEBUG is off", environment=env.name)]


def is_web(spec: ServiceSpec) -> bool:
    """A service that serves HTTP: it has a health path or a port (every service has a port)."""
    return spec.health_path is not None or spec.port > 0


def check_secret_key(env: Environment) -> list[CheckResult]:
    """SECRET_KEY is set for web services: a secret, or a plain value on a local provider."""
    name = "secret-key"
    results: list[CheckResult] = []
    for spec in env.services.values():
        if not is_web(spec):
            continue
        if "SECRET_KEY" in spec.secrets:
            continue
        if "SECRET_KEY" in spec.plain_secrets and env.provider != LOCAL:
            continue  # reported by no-secret-values, with its line
        if "SECRET_KEY" in spec.env:
            if env.provider == LOCAL:
                continue
            results.append(
                CheckResult(
                    name,
                    "fail",
                    f"SECRET_KEY of service {spec.name!r} is a plain value in shipit.toml "
                    f"for {env.name!r}",
                    fix=f'list it under [services.{spec.name}] secrets = ["SECRET_KEY"], delete '
                    f"the value and run `shipit env set SECRET_KEY -e {env.name}`",
                    environment=env.name,
                )
            )
            continue
        results.append(
            CheckResult(
                name,
                "fail",
                f"service {spec.name!r} has no SECRET_KEY in {env.name!r}",
                fix=f'add "SECRET_KEY" to [services.{spec.name}] secrets and run '
                f"`shipit env set SECRET_KEY -e {env.name}`",
                environment=env.name,
            )
        )
    return results or [CheckResult(name, "pass", "SECRET_KEY is set", environment=env.name)]


def check_health_paths(env: Environment) -> list[CheckResult]:
    """Every service has a health path for the deploy gate."""
    name = "health-path"
    missing = [s.name for s in env.services.values() if not s.health_path]
    if not missing:
        return [CheckResult(name, "pass", "every service has a health path", environment=env.name)]
    return [
        CheckResult(
            name,
            "warn",
            f"no health path for {', '.join(missing)}: the deploy gate trusts the provider's "
            "status only",
            fix='set health_path = "/health" (a path that answers 2xx once the app is ready)',
            environment=env.name,
        )
    ]


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether ``host`` matches an ALLOWED_HOSTS entry (Django rules: ``*``, ``.example.com``)."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        pattern = entry.strip().lower()
        if not pattern:
            continue
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith(".") and (host == pattern[1:] or host.endswith(pattern)):
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def check_allowed_hosts(env: Environment, urls: Mapping[str, str | None]) -> list[CheckResult]:
    """ALLOWED_HOSTS, where set, covers the host the service is deployed on (``urls``)."""
    name = "allowed-hosts"
    results: list[CheckResult] = []
    for spec in env.services.values():
        value = spec.env.get("ALLOWED_HOSTS")
        if value is None:
            continue
        url = urls.get(spec.name)
        host = urlparse(url).hostname if url else None
        if not host:
            results.append(
                CheckResult(
                    name,
                    "skip",
                    f"{spec.name}: skipped: no deployed URL to compare ALLOWED_HOSTS with "
                    "(nothing deployed, or the provider is unreachable)",
                    environment=env.name,
                )
            )
            continue
        entries = [e for e in re.split(r"[,\s]+", value) if e]
        if host_allowed(host, entries):
            results.append(
                CheckResult(
                    name, "pass", f"{spec.name}: ALLOWED_HOSTS covers {host}", environment=env.name
                )
            )
        else:
            results.append(
                CheckResult(
                    name,
                    "fail",
                    f"{spec.name}: ALLOWED_HOSTS ({value}) does not cover {host}, where "
                    f"{env.name!r} serves it",
                    fix=f"add {host} to ALLOWED_HOSTS for {env.name!r}",
                    environment=env.name,
                )
            )
    return results


def variable_names(spec: ServiceSpec) -> set[str]:
    """Every variable name a service gets: plain ones and secrets."""
    return {*spec.env, *spec.secrets, *spec.plain_secrets}


def check_parity(staging: Environment, production: Environment) -> list[CheckResult]:
    """Staging mirrors production: same services, database engines and variable names."""
    name = "staging-mirrors-production"
    results: list[CheckResult] = []
    only_prod = sorted(set(production.services) - set(staging.services))
    if only_prod:
        results.append(
            CheckResult(
                name,
                "fail",
                f"staging lacks services that production has: {', '.join(only_prod)}",
                fix="define the same services for both environments",
            )
        )
    for service_name, prod in production.services.items():
        stage = staging.services.get(service_name)
        if stage is None:
            continue
        if stage.database != prod.database:
            results.append(
                CheckResult(
                    name,
                    "fail",
                    f"{service_name}: staging database is {stage.database or 'none'}, "
                    f"production's is {prod.database or 'none'}",
                    fix=f"give [environments.staging.services.{service_name}] database = "
                    f'"{prod.database}"'
                    if prod.database
                    else "use the same database engine in both environments",
                )
            )
        missing = sorted(variable_names(prod) - variable_names(stage))
        if missing:
            results.append(
                CheckResult(
                    name,
                    "fail",
                    f"{service_name}: staging lacks variables that production has: "
                    f"{', '.join(missing)}",
                    fix="set them in [environments.staging] env (values may differ; names must "
                    "match, so staging tests what production runs)",
                )
            )
        extra = sorted(variable_names(stage) - variable_names(prod))
        if extra:
            results.append(
                CheckResult(
                    name,
                    "warn",
                    f"{service_name}: staging has variables that production lacks: "
                    f"{', '.join(extra)}",
                    fix="set them for production too, or drop them from staging",
                )
            )
    return results or [
        CheckResult(name, "pass", "staging has the services, databases and variables of production")
    ]


BACKUP_FIXES: Mapping[str, str] = {
    "render": "enable point-in-time recovery: upgrade the database to a paid Render Postgres "
    "plan (the free plan has no backups)",
    "fly": "create a backup schedule for the Managed Postgres cluster on Fly.io",
}


def backup_fix(provider: str) -> str:
    """What to do about a production database without backups on ``provider``."""
    return BACKUP_FIXES.get(provider, f"enable backups for it on {provider} before the next deploy")


def check_backups(
    env: Environment, provider: Provider | None, *, reason: str | None = None
) -> list[CheckResult]:
    """A production database has backups, where the provider reports them."""
    name = "database-backups"
    databases = [s for s in env.services.values() if s.database]
    if not databases:
        return []
    if provider is None:
        return [CheckResult(name, "skip", f"skipped: {reason}", environment=env.name)]
    if Capability.BACKUPS not in provider.capabilities or not isinstance(provider, ReportsBackups):
        return [
            CheckResult(
                name, "skip", "skipped: provider does not report backups", environment=env.name
            )
        ]
    return [_backup_result(env, provider, spec) for spec in databases]


def _backup_result(env: Environment, provider: ReportsBackups, spec: ServiceSpec) -> CheckResult:
    name = "database-backups"
    try:
        status = provider.backups(spec)
    except ShipitError as error:
        return CheckResult(
            name,
            "warn",
            f"{spec.name}: backups could not be read: {error}",
            fix=error.hint,
            environment=env.name,
        )
    if status is None:
        return CheckResult(
            name, "skip", f"{spec.name}: skipped: no database linked yet", environment=env.name
        )
    if status.enabled:
        latest = f"; latest {status.latest.isoformat(timespec='seconds')}" if status.latest else ""
        return CheckResult(
            name,
            "pass",
            f"{spec.name}: {spec.database} has backups ({status.detail}{latest})",
            environment=env.name,
        )
    return CheckResult(
        name,
        "fail",
        f"{spec.name}: the production {spec.database} database has no backups ({status.detail})",
        fix=backup_fix(env.provider),
        environment=env.name,
    )


TokenLookup = Callable[[str], "tuple[str | None, ShipitError | None]"]


def lookup_token_source(provider: str) -> tuple[str | None, ShipitError | None]:
    """Where the provider's token would come from, without prompting (or the error)."""
    from shipit.credentials import lookup_token

    try:
        token = lookup_token(provider, required=False, prompt=False)
    except ShipitError as error:
        return None, error
    return (token.source if token else None), None


def check_token(env: Environment, lookup: TokenLookup = lookup_token_source) -> list[CheckResult]:
    """The environment's provider token can be found (env var or keyring; never a prompt)."""
    from shipit.credentials import TOKEN_VARIABLES

    name = "token"
    if env.provider not in TOKEN_VARIABLES:
        return []
    source, error = lookup(env.provider)
    if error is not None:
        return [CheckResult(name, "fail", str(error), fix=error.hint, environment=env.name)]
    if source is None:
        variables = " or ".join(TOKEN_VARIABLES[env.provider])
        return [
            CheckResult(
                name,
                "fail",
                f"no {env.provider} token for {env.name!r}",
                fix=f"set {variables}, or run `shipit login {env.provider}`",
                environment=env.name,
            )
        ]
    return [
        CheckResult(name, "pass", f"{env.provider} token found ({source})", environment=env.name)
    ]


# running them all -------------------------------------------------------------------------
ProviderOpener = Callable[[Environment], "Provider"]


def _open_quietly(
    opener: ProviderOpener, env: Environment, providers: dict[str, Provider | str]
) -> Provider | str:
    """An adapter for ``env``, or why there is none (no token, not installed); opened once."""
    if env.name not in providers:
        try:
            providers[env.name] = opener(env)
        except ShipitError as error:
            providers[env.name] = f"{error}"
    return providers[env.name]


def deployed_urls(provider: Provider | str, env: Environment) -> dict[str, str | None]:
    """The URL each service is served on, from the provider's status; None where unknown."""
    urls: dict[str, str | None] = {}
    for spec in env.services.values():
        if "ALLOWED_HOSTS" not in spec.env:
            continue
        if isinstance(provider, str):
            urls[spec.name] = None
            continue
        try:
            urls[spec.name] = provider.status(spec).url
        except ShipitError:
            urls[spec.name] = None
    return urls


def _class_capabilities(provider: str) -> frozenset[Capability] | str:
    """What an adapter declares, without opening it; or why it cannot be loaded."""
    from shipit.providers.registry import provider_class

    try:
        return provider_class(provider).capabilities
    except ShipitError as error:
        return str(error)


def run_checks(
    loaded: LoadedConfig,
    env_name: str | None = None,
    *,
    git: GitRunner | None = None,
    open_provider: ProviderOpener | None = None,
    token_lookup: TokenLookup = lookup_token_source,
) -> DoctorReport:
    """Every check for ``env_name`` (default: every environment), in a stable order."""
    names = [env_name] if env_name else list(loaded.config.environments)
    envs = [resolve_environment(loaded, n) for n in names]
    if open_provider is None:
        from shipit.core.session import open_provider as open_real

        def open_provider(env: Environment) -> Provider:
            from shipit.credentials import lookup_token

            return open_real(env, token=lookup_token(env.provider, prompt=False))

    checks: list[CheckResult] = []
    checks += check_dotenv(loaded.root, git or run_git(loaded.root))
    checks += check_secret_values(loaded, envs)
    for env in envs:
        checks += check_token(env, token_lookup)
        checks += check_debug(env)
        checks += check_secret_key(env)
        checks += check_health_paths(env)
    defined = loaded.config.environments
    if STAGING in defined and PRODUCTION in defined and env_name in (None, STAGING, PRODUCTION):
        checks += check_parity(
            resolve_environment(loaded, STAGING), resolve_environment(loaded, PRODUCTION)
        )
    providers: dict[str, Provider | str] = {}
    try:
        for env in envs:
            if any("ALLOWED_HOSTS" in s.env for s in env.services.values()):
                provider = _open_quietly(open_provider, env, providers)
                checks += check_allowed_hosts(env, deployed_urls(provider, env))
        for env in envs:
            if env.name != PRODUCTION or not any(s.database for s in env.services.values()):
                continue
            capabilities = _class_capabilities(env.provider)
            if isinstance(capabilities, str):
                checks += check_backups(env, None, reason=f"provider unavailable: {capabilities}")
                continue
            if Capability.BACKUPS not in capabilities:
                checks += check_backups(env, None, reason="provider does not report backups")
                continue
            provider = _open_quietly(open_provider, env, providers)
            if isinstance(provider, str):
                checks += check_backups(env, None, reason=f"provider unavailable: {provider}")
            else:
                checks += check_backups(env, provider)
    finally:
        for opened in providers.values():
            if not isinstance(opened, str):
                opened.close()
    return DoctorReport(tuple(checks))
