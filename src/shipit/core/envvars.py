"""An environment's variables and where each comes from; the parity diff of two environments.

Used by ``shipit env list``, ``env export`` and ``env diff``. Values stay wrapped: a secret is a
:class:`~shipit.sensitive.Secret` here, and a diff shows secrets only as HMAC fingerprints
(:mod:`shipit.fingerprint`), never as values or plain hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shipit.config.edit import TablePath, describe
from shipit.config.overlay import Environment, resolve_environment
from shipit.errors import UsageError
from shipit.secrets import SecretValue, effective_source, lookup_secrets
from shipit.secretstore import KeyringUnavailableError, SecretStore, is_reserved
from shipit.sensitive import Secret

if TYPE_CHECKING:
    from shipit.config.loader import LoadedConfig
    from shipit.fingerprint import FingerprintKey

Value = str | Secret | None  # None: a secret without a value


@dataclass(frozen=True)
class Variable:
    """One variable as an environment (or the project) sees it.

    ``scope``: ``project`` or ``env`` for secrets (keyring scope, or the CI variable), ``config``
    for plain values. ``source``: ``keyring``, ``env-var``, ``config`` or ``missing``. ``where``
    names the keyring service, the variable or the shipit.toml table. ``services`` is empty for
    a keyring entry that no service lists in ``secrets`` (it is never deployed).
    """

    name: str
    services: tuple[str, ...]
    secret: bool
    scope: str
    source: str
    where: str
    value: Value

    @property
    def used(self) -> bool:
        """False for a stored secret that no service lists."""
        return bool(self.services)


def config_table(loaded: LoadedConfig, env: str | None, service: str, name: str) -> TablePath:
    """The shipit.toml table whose value of ``name`` the service gets in ``env``."""
    config = loaded.config
    if env is not None:
        env_config = config.environments[env]
        override = env_config.services.get(service)
        if override is not None and name in override.env:
            return ("environments", env, "services", service, "env")
        if name in env_config.env:
            return ("environments", env, "env")
    return ("services", service, "env")


def declared_secrets(loaded: LoadedConfig) -> set[str]:
    """Every name some service lists in ``secrets``."""
    return {name for service in loaded.config.services.values() for name in service.secrets}


def list_variables(
    loaded: LoadedConfig,
    env_name: str | None,
    *,
    source: str = "auto",
    services: Iterable[str] | None = None,
    store: SecretStore | None = None,
) -> list[Variable]:
    """The variables of ``env_name`` (or the project-wide ones when None), merged per value."""
    wanted = _check_services(loaded, services)
    if env_name is None:
        rows = _project_rows(loaded, wanted, source, store)
    else:
        environment = resolve_environment(loaded, env_name)
        rows = _environment_rows(loaded, environment, wanted, source, store)
    return _merge(rows)


def _check_services(loaded: LoadedConfig, services: Iterable[str] | None) -> list[str]:
    names = list(loaded.config.services)
    if services is None:
        return names
    chosen = list(services)
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise UsageError(
            f"unknown service {unknown[0]!r} (defined: {', '.join(names)})",
            hint="check -s/--service",
        )
    return chosen


def _environment_rows(
    loaded: LoadedConfig,
    environment: Environment,
    wanted: list[str],
    source: str,
    store: SecretStore | None,
) -> list[Variable]:
    rows: list[Variable] = []
    found = lookup_secrets(environment, source=source, services=wanted, store=store)
    for service_name in wanted:
        spec = environment.services[service_name]
        for name, value in spec.env.items():
            table = config_table(loaded, environment.name, service_name, name)
            secret = name in spec.plain_secrets
            rows.append(
                Variable(name, (service_name,), secret, "config", "config", describe(table), value)
            )
        for name in spec.secrets:
            rows.append(_secret_row(found[name], (service_name,)))
    if effective_source(source) == "keyring":
        listed = {row.name for row in rows}
        rows.extend(_orphans(loaded, environment.name, listed, store))
    return rows


def _secret_row(item: SecretValue, services: tuple[str, ...]) -> Variable:
    source = item.source if item.value is not None else "missing"
    scope = item.scope or ("env" if item.source == "env-var" else "")
    return Variable(item.name, services, True, scope, source, item.where, item.value)


def _project_rows(
    loaded: LoadedConfig, wanted: list[str], source: str, store: SecretStore | None
) -> list[Variable]:
    import os

    from shipit.config.overlay import env_text

    rows: list[Variable] = []
    mode = effective_source(source)
    project = loaded.config.project.name
    needed = [
        (service, name) for service in wanted for name in loaded.config.services[service].secrets
    ]
    if needed and mode == "keyring":
        store = store or SecretStore(project)
        store.backend  # noqa: B018 - fails with the fix when there is no usable keyring
    for service in wanted:
        config = loaded.config.services[service]
        for name, raw in config.env.items():
            table = ("services", service, "env")
            rows.append(
                Variable(
                    name, (service,), False, "config", "config", describe(table), env_text(raw)
                )
            )
        for name in config.secrets:
            if mode == "env":
                env_value = os.environ.get(name)
                value = Secret(env_value) if env_value is not None else None
                where = f"${name}"
            else:
                assert store is not None
                value = store.get(name, None)
                where = store.service(None)
            origin = ("env-var" if mode == "env" else "keyring") if value is not None else "missing"
            rows.append(Variable(name, (service,), True, "project", origin, where, value))
    if mode == "keyring":
        listed = {row.name for row in rows}
        rows.extend(_orphans(loaded, None, listed, store))
    return rows


def _orphans(
    loaded: LoadedConfig, env_name: str | None, listed: set[str], store: SecretStore | None
) -> list[Variable]:
    """Keyring entries stored through shipit that no selected service uses."""
    store = store or SecretStore(loaded.config.project.name)
    if not store.available:
        return []
    rows: list[Variable] = []
    scopes: list[tuple[str, str | None]] = [("project", None)]
    if env_name is not None:
        scopes.insert(0, ("env", env_name))
    try:
        for scope, scope_env in scopes:
            for name in store.names(scope_env):
                if name in listed or is_reserved(name):
                    continue
                value = store.get(name, scope_env)
                if value is None:
                    continue
                listed.add(name)
                rows.append(
                    Variable(name, (), True, scope, "keyring", store.service(scope_env), value)
                )
    except KeyringUnavailableError:
        return []
    return rows


def _merge(rows: list[Variable]) -> list[Variable]:
    """One row per name, scope and value, listing every service that shares it."""
    merged: dict[tuple[object, ...], Variable] = {}
    for row in rows:
        key = (row.name, row.scope, row.source, row.where, row.value)
        existing = merged.get(key)
        if existing is None:
            merged[key] = row
        else:
            services = existing.services + tuple(
                s for s in row.services if s not in existing.services
            )
            merged[key] = Variable(
                row.name, services, row.secret, row.scope, row.source, row.where, row.value
            )
    return list(merged.values())


def flat_values(variables: Iterable[Variable]) -> dict[str, Value]:
    """NAME -> value over every service; a UsageError when services disagree on a name."""
    values: dict[str, Value] = {}
    owners: dict[str, tuple[str, ...]] = {}
    for variable in variables:
        if not variable.used:
            continue
        if variable.name in values and values[variable.name] != variable.value:
            first = owners[variable.name][0]
            other = variable.services[0]
            raise UsageError(
                f"{variable.name} differs between services {first} and {other}",
                hint="pass -s SERVICE to pick one service",
            )
        values[variable.name] = variable.value
        owners[variable.name] = variable.services
    return values


# --- parity diff --------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    """One difference (or sameness) between environments A and B.

    ``kind``: ``env`` (plain), ``secret`` (compared by fingerprint) or ``setting``.
    ``status``: ``missing`` (A has it, B does not), ``extra`` (B only), ``changed``, ``same``,
    or ``unset`` (a secret without a value on both sides). ``a``/``b`` are what to show: plain
    values, ``fp <hex>`` for secrets, ``(not set)``, or None when absent.
    """

    service: str
    name: str
    kind: str
    status: str
    a: str | None
    b: str | None


@dataclass(frozen=True)
class EnvSide:
    """One environment's values per service, with the names that are secrets there."""

    environment: Environment
    values: Mapping[str, Mapping[str, Value]]
    secret_names: Mapping[str, frozenset[str]] = field(default_factory=dict)


def side(environment: Environment, secrets: Mapping[str, SecretValue]) -> EnvSide:
    """The values of ``environment`` per service: plain env plus the looked-up secrets."""
    values: dict[str, dict[str, Value]] = {}
    names: dict[str, frozenset[str]] = {}
    for service_name, spec in environment.services.items():
        service_values: dict[str, Value] = dict(spec.env)
        for name in spec.secrets:
            item = secrets.get(name)
            service_values[name] = item.value if item is not None else None
        values[service_name] = service_values
        names[service_name] = frozenset(spec.secrets) | frozenset(spec.plain_secrets)
    return EnvSide(environment, values, names)


_SETTINGS = ("start", "port", "health_path", "health_timeout", "database", "image", "replicas")


def diff_environments(
    a: EnvSide,
    b: EnvSide,
    key: FingerprintKey,
    *,
    services: Iterable[str] | None = None,
    include_same: bool = False,
) -> list[DiffRow]:
    """What differs between A and B; secret rows always, other ``same`` rows on request."""
    rows: list[DiffRow] = []
    if a.environment.provider != b.environment.provider:
        rows.append(
            DiffRow(
                "", "provider", "setting", "changed", a.environment.provider, b.environment.provider
            )
        )
    chosen = list(services) if services is not None else list(a.environment.services)
    for service in chosen:
        rows.extend(_settings_rows(a, b, service, include_same))
        a_values = a.values.get(service, {})
        b_values = b.values.get(service, {})
        secret = a.secret_names.get(service, frozenset()) | b.secret_names.get(service, frozenset())
        names = list(a_values) + [n for n in b_values if n not in a_values]
        for name in sorted(names):
            row = _compare(
                service,
                name,
                name in secret,
                (name in a_values, a_values.get(name)),
                (name in b_values, b_values.get(name)),
                key,
            )
            if row.status != "same" or include_same or row.kind == "secret":
                rows.append(row)
    return rows


def _settings_rows(a: EnvSide, b: EnvSide, service: str, include_same: bool) -> list[DiffRow]:
    rows: list[DiffRow] = []
    a_spec = a.environment.services[service]
    b_spec = b.environment.services[service]
    for setting in _SETTINGS:
        a_value = getattr(a_spec, setting)
        b_value = getattr(b_spec, setting)
        status = "same" if a_value == b_value else "changed"
        if status == "changed" or include_same:
            rows.append(
                DiffRow(service, setting, "setting", status, _shown(a_value), _shown(b_value))
            )
    return rows


def _shown(value: object) -> str | None:
    return None if value is None else str(value)


def _compare(
    service: str,
    name: str,
    secret: bool,
    a: tuple[bool, Value],
    b: tuple[bool, Value],
    key: FingerprintKey,
) -> DiffRow:
    (a_has, a_value), (b_has, b_value) = a, b
    wrapped = isinstance(a_value, Secret) or isinstance(b_value, Secret)
    kind = "secret" if secret or wrapped else "env"

    def shown(has: bool, value: Value) -> str | None:
        if not has:
            return None
        if value is None:
            return "(not set)"
        if kind == "secret":
            return f"fp {key.fingerprint(name, value)}"
        return str(value)

    a_shown, b_shown = shown(a_has, a_value), shown(b_has, b_value)
    a_set = a_has and a_value is not None
    b_set = b_has and b_value is not None
    if a_set and b_set:
        status = "same" if a_shown == b_shown else "changed"
    elif a_set:
        status = "missing"
    elif b_set:
        status = "extra"
    elif a_has and b_has:
        status = "unset"
    else:
        status = "missing" if a_has else "extra"
    return DiffRow(service, name, kind, status, a_shown, b_shown)
