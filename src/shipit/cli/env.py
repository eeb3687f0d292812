"""``shipit env``: set, unset, list, import, export, diff, check and push variables and secrets.

Where values go:

- a secret goes to the keyring: ``-e ENV`` stores it for one environment, no ``-e`` for every
  environment of the project (an environment's own value wins);
- ``--plain`` writes shipit.toml: ``-e ENV`` -> ``[environments.ENV] env``, ``-s SERVICE`` ->
  ``[services.SERVICE] env``, both -> ``[environments.ENV.services.SERVICE] env`` (one of them is
  required: shipit never guesses where a plain value belongs).

``env set`` stores in the keyring unless ``--plain`` is given. A value on the command line is
refused for a secret (command lines leak into shell history and process lists) unless
``--allow-argv``; give it on stdin (``-``) or at the hidden prompt instead. Only ``--reveal``
prints secret values, and only on stdout.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipit.cli import context, options
from shipit.errors import UsageError
from shipit.sensitive import REDACTED, Secret

if TYPE_CHECKING:
    from shipit.config.loader import LoadedConfig
    from shipit.core.envvars import Value, Variable
    from shipit.secretstore import SecretStore

env_app = typer.Typer(
    name="env",
    help="Variables and secrets: keyring, shipit.toml, .env files, parity diff, push.",
    no_args_is_help=True,
)

EnvOption = Annotated[
    str | None, typer.Option("-e", "--env", help="Environment (default: project-wide).")
]
ServiceOption = Annotated[str | None, typer.Option("-s", "--service", help="Only this service.")]
SecretsOption = Annotated[
    str,
    typer.Option(
        "--secrets",
        help="Where secret values come from: auto (keyring; env vars in CI), keyring or env.",
    ),
]
RevealOption = Annotated[
    bool, typer.Option("--reveal", help="Show secret values (on stdout only).")
]


def register(app: typer.Typer) -> None:
    """Add ``shipit env ...``."""
    app.add_typer(env_app, name="env")


# --- helpers --------------------------------------------------------------------------------


def _store(loaded: LoadedConfig) -> SecretStore:
    from shipit.secretstore import SecretStore

    return SecretStore(loaded.config.project.name)


def _check_env(loaded: LoadedConfig, env: str | None) -> None:
    if env is not None and env not in loaded.config.environments:
        defined = ", ".join(loaded.config.environments) or "none"
        raise UsageError(
            f"no environment {env!r} in {loaded.path.name} (defined: {defined})",
            hint="check -e/--env",
        )


def _check_service(loaded: LoadedConfig, service: str | None) -> None:
    if service is not None and service not in loaded.config.services:
        raise UsageError(
            f"no service {service!r} (defined: {', '.join(loaded.config.services)})",
            hint="check -s/--service",
        )


def _check_name(name: str) -> None:
    from shipit.secretstore import check_name

    check_name(name)


def _scope_text(store: SecretStore, env: str | None) -> str:
    where = f"environment {env!r}" if env else "every environment (project-wide)"
    return f"{where}, keyring service {store.service(env)!r}"


def read_stdin_value() -> str:
    """All of stdin, without one trailing newline."""
    data = sys.stdin.read()
    if data.endswith("\r\n"):
        return data[:-2]
    if data.endswith("\n"):
        return data[:-1]
    return data


def _command(loaded: LoadedConfig) -> str:
    """``shipit`` with the -c option this run was given, for hints."""
    if options.current.config is not None:
        return f"shipit -c {options.current.config}"
    return "shipit"


def _write_raw(text: str) -> None:
    """Revealed values: written as they are (Output would mask them)."""
    sys.stdout.write(text)
    sys.stdout.flush()


# --- set / unset ----------------------------------------------------------------------------


def env_set(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Variable name.")],
    value: Annotated[
        str | None,
        typer.Argument(metavar="[VALUE|-]", help="The value; `-` reads stdin; none prompts."),
    ] = None,
    env: EnvOption = None,
    service: ServiceOption = None,
    secret: Annotated[
        bool, typer.Option("--secret", help="Store in the keyring (the default).")
    ] = False,
    plain: Annotated[
        bool, typer.Option("--plain", help="Write a plain value into shipit.toml.")
    ] = False,
    allow_argv: Annotated[
        bool,
        typer.Option("--allow-argv", help="Accept a secret's value on the command line."),
    ] = False,
) -> None:
    """Set NAME: a secret in the keyring, or with --plain a value in shipit.toml."""
    from shipit.config.edit import describe, env_table, update_env
    from shipit.core.envvars import declared_secrets

    if secret and plain:
        raise UsageError("--secret and --plain exclude each other")
    _check_name(name)
    loaded = context.load()
    _check_env(loaded, env)
    _check_service(loaded, service)
    listed = name in declared_secrets(loaded)
    to_keyring = not plain
    if to_keyring and service is not None:
        raise UsageError(
            "-s/--service applies to --plain values only",
            hint="secrets are stored per environment (-e) or project-wide; "
            "a service gets those it lists in `secrets`",
        )
    table = env_table(env, service) if plain else None
    if value is not None and value != "-" and (to_keyring or listed) and not allow_argv:
        raise UsageError(
            f"refusing a value for {'secret ' if listed else ''}{name} on the command line "
            "(it would stay in shell history and process lists)",
            hint=f'pipe it: printf %s "$VALUE" | {_command(loaded)} env set {name} -'
            + (f" -e {env}" if env else "")
            + ", run without a value to be prompted, or add --allow-argv",
        )
    raw = _acquire(name, value, loaded, env, secret=to_keyring or listed)
    if to_keyring:
        if not raw:
            raise UsageError(f"empty value for secret {name}", hint="give a non-empty value")
        wrapped = Secret(raw)
        store = _store(loaded)
        store.set(name, wrapped, env)
        _after_secret_set(loaded, name, env, listed)
        where = store.service(env)
        if options.current.json:
            context.output.emit_json(
                {
                    "ok": True,
                    "name": name,
                    "stored": "keyring",
                    "scope": env or "project",
                    "where": where,
                }
            )
        else:
            context.output.echo(f"stored {name} for {_scope_text(store, env)}")
        return
    assert table is not None
    if listed:
        Secret(raw)  # a secret's name: keep its value out of every output from here on
        context.output.warn(
            f"{name} is listed as a secret; its plain value in shipit.toml makes it plain "
            f"in {describe(table)}"
        )
    update_env(loaded.path, table, {name: raw})
    if options.current.json:
        context.output.emit_json(
            {"ok": True, "name": name, "stored": "config", "where": describe(table)}
        )
    else:
        context.output.echo(f"set {name} in {loaded.path.name} {describe(table)}")


def _acquire(
    name: str, value: str | None, loaded: LoadedConfig, env: str | None, *, secret: bool
) -> str:
    """The value from argv, stdin (``-``) or a hidden prompt; an error saying how otherwise.

    A secret's value is registered for redaction (wrapped) the moment it is read.
    """
    raw: str | None = value
    if value == "-":
        raw = read_stdin_value()
    elif value is None and options.current.interactive:
        raw = typer.prompt(
            f"Value for {name}", hide_input=secret, confirmation_prompt=secret, err=True
        )
    if raw is not None:
        return Secret(raw).reveal() if secret else raw
    target = f" -e {env}" if env else ""
    raise UsageError(
        f"no value for {name} and no terminal to prompt on",
        hint=f'pipe it on stdin: printf %s "$VALUE" | {_command(loaded)} env set {name} -{target}',
    )


def _after_secret_set(loaded: LoadedConfig, name: str, env: str | None, listed: bool) -> None:
    """Warn when the stored secret will not reach a deploy as it is."""
    config = loaded.config
    if not listed:
        services = ", ".join(config.services)
        context.output.warn(
            f"no service lists {name} in `secrets`, so deploys do not use it; add it to "
            f"[services.NAME] secrets (services: {services})"
        )
        return
    envs = [env] if env else list(config.environments)
    from shipit.config.overlay import resolve_environment

    plain_in = [
        e
        for e in envs
        if any(name in s.plain_secrets for s in resolve_environment(loaded, e).services.values())
    ]
    if plain_in:
        context.output.warn(
            f"shipit.toml gives {name} a plain value in {', '.join(plain_in)}, which wins there"
        )


def env_unset(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Variable name.")],
    env: EnvOption = None,
    service: ServiceOption = None,
    secret: Annotated[bool, typer.Option("--secret", help="Only the keyring entry.")] = False,
    plain: Annotated[bool, typer.Option("--plain", help="Only the shipit.toml value.")] = False,
) -> None:
    """Remove NAME from the keyring scope and/or the shipit.toml table that -e/-s select."""
    from shipit.config.edit import describe, env_table, update_env
    from shipit.secretstore import KeyringUnavailableError

    if secret and plain:
        raise UsageError("--secret and --plain exclude each other")
    _check_name(name)
    loaded = context.load()
    _check_env(loaded, env)
    _check_service(loaded, service)
    removed: list[str] = []
    if not secret and (env is not None or service is not None):
        table = env_table(env, service)
        if update_env(loaded.path, table, unset=[name]):
            removed.append(f"{loaded.path.name} {describe(table)}")
    if not plain and service is None:
        store = _store(loaded)
        try:
            if store.delete(name, env):
                removed.append(f"keyring service {store.service(env)!r}")
        except KeyringUnavailableError:
            if secret or not removed:
                raise
    if not removed:
        where = f"environment {env!r}" if env else "the project scope"
        raise UsageError(
            f"{name} is not set in {where}",
            hint=f"`{_command(loaded)} env list{' -e ' + env if env else ''}` shows what is set",
        )
    if options.current.json:
        context.output.emit_json({"ok": True, "name": name, "removed_from": removed})
    else:
        for place in removed:
            context.output.echo(f"removed {name} from {place}")


# --- list -------------------------------------------------------------------------------------


def _shown(variable: Variable, reveal: bool) -> str | None:
    if variable.value is None:
        return None
    if isinstance(variable.value, Secret):
        return variable.value.reveal() if reveal else REDACTED
    return variable.value if reveal or not variable.secret else REDACTED


def env_list(
    env: EnvOption = None,
    service: ServiceOption = None,
    reveal: RevealOption = False,
    secrets: SecretsOption = "auto",
) -> None:
    """List variables: name, services, scope, source and value (secrets masked)."""
    from shipit.core.envvars import list_variables

    loaded = context.load()
    _check_env(loaded, env)
    variables = list_variables(loaded, env, source=secrets, services=[service] if service else None)
    if options.current.json:
        document = {
            "environment": env,
            "variables": [
                {
                    "name": v.name,
                    "services": list(v.services),
                    "secret": v.secret,
                    "scope": v.scope,
                    "source": v.source,
                    "where": v.where,
                    "set": v.value is not None,
                    "value": _shown(v, reveal),
                }
                for v in variables
            ],
        }
        if reveal:
            import json

            _write_raw(json.dumps(document, indent=2) + "\n")
        else:
            context.output.emit_json(document)
        return
    if not variables:
        context.output.info(f"no variables{' in ' + env if env else ''}")
        return
    rows = []
    for variable in variables:
        services = ",".join(variable.services) if variable.services else "(unused)"
        shown = _shown(variable, reveal)
        if shown is not None:
            shown = shown.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        rows.append(
            [
                variable.name,
                services,
                variable.scope or "-",
                variable.source,
                "(not set)" if shown is None else shown,
            ]
        )
    columns = ["NAME", "SERVICES", "SCOPE", "SOURCE", "VALUE"]
    title = f"environment {env}" if env else "project-wide"
    if reveal:
        lines = [title, "\t".join(columns)] + ["\t".join(r) for r in rows]
        _write_raw("\n".join(lines) + "\n")
    else:
        context.output.table(columns, rows, title=title)
    unused = [v.name for v in variables if not v.used]
    if unused:
        context.output.warn(f"stored but listed by no service's `secrets`: {', '.join(unused)}")


# --- import / export ------------------------------------------------------------------------


def env_import(
    file: Annotated[str, typer.Argument(metavar="FILE", help=".env file to read; `-` = stdin.")],
    env: EnvOption = None,
    service: ServiceOption = None,
    all_secret: Annotated[
        bool, typer.Option("--secret", help="Store every value in the keyring.")
    ] = False,
) -> None:
    """Import a .env file: secrets to the keyring, other values into shipit.toml."""
    from pathlib import Path

    from shipit.config.edit import describe, env_table, update_env
    from shipit.core.envvars import declared_secrets
    from shipit.envfile import parse_dotenv

    loaded = context.load()
    _check_env(loaded, env)
    _check_service(loaded, service)
    if file == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror}", hint="check FILE") from None
        source = file
    declared = declared_secrets(loaded)
    parsed = parse_dotenv(text, source=source)
    secret_values: dict[str, Secret] = {}
    plain_values: dict[str, str] = {}
    for name, raw in parsed.values.items():
        if all_secret or name in declared:
            secret_values[name] = Secret(raw)
        else:
            plain_values[name] = raw
    for name in parsed.values:
        _check_name(name)
    if secret_values and service is not None and not plain_values:
        raise UsageError("-s/--service applies to plain values only")
    table = None
    if plain_values:
        if env is None and service is None:
            raise UsageError(
                f"{', '.join(plain_values)}: no service lists "
                f"{'it' if len(plain_values) == 1 else 'them'} in `secrets`, so "
                f"{'it is' if len(plain_values) == 1 else 'they are'} plain and need"
                " a place in shipit.toml",
                hint="pass -e ENV (or -s SERVICE) to write plain values there, "
                "or --secret to store everything in the keyring",
            )
        table = env_table(env, service)
    store = _store(loaded)
    if secret_values:
        store.backend  # noqa: B018 - no usable keyring: fail before writing anything
    if table is not None:
        update_env(loaded.path, table, plain_values)
    for name, value in secret_values.items():
        store.set(name, value, env)
        _after_secret_set(loaded, name, env, name in declared)
    for name in parsed.empty:
        context.output.warn(f"{name} has no value in {source}; skipped")
    document: dict[str, Any] = {
        "ok": True,
        "file": source,
        "secrets": list(secret_values),
        "plain": list(plain_values),
        "keyring": store.service(env) if secret_values else None,
        "config": describe(table) if table is not None else None,
        "skipped": parsed.empty,
    }
    if options.current.json:
        context.output.emit_json(document)
        return
    if secret_values:
        context.output.echo(
            f"stored {len(secret_values)} secret{'s' if len(secret_values) != 1 else ''} "
            f"({', '.join(secret_values)}) for {_scope_text(store, env)}"
        )
    if table is not None:
        context.output.echo(
            f"wrote {len(plain_values)} plain value{'s' if len(plain_values) != 1 else ''} "
            f"({', '.join(plain_values)}) to {loaded.path.name} {describe(table)}"
        )
    if not secret_values and not plain_values:
        context.output.info(f"nothing to import from {source}")


def env_export(
    env: Annotated[str | None, typer.Option("-e", "--env", help="Environment to export.")] = None,
    service: ServiceOption = None,
    fmt: Annotated[
        str, typer.Option("--format", help="dotenv or json.", metavar="dotenv|json")
    ] = "dotenv",
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Include secret values (omitted otherwise).")
    ] = False,
    secrets: SecretsOption = "auto",
) -> None:
    """Print an environment's variables as a .env file or JSON (secrets only with --reveal)."""
    from shipit.config.overlay import resolve_environment
    from shipit.core.envvars import flat_values, list_variables
    from shipit.envfile import format_dotenv, format_json
    from shipit.errors import SecretsMissingError
    from shipit.secrets import effective_source, missing_hint

    if fmt not in {"dotenv", "json"}:
        raise UsageError(f"--format must be dotenv or json, not {fmt!r}")
    if options.current.json:
        fmt = "json"
    loaded = context.load()
    if env is None:
        raise UsageError("env export needs -e ENV", hint=f"defined: {_env_names(loaded)}")
    _check_env(loaded, env)
    services = [service] if service else None
    if reveal:
        variables = list_variables(loaded, env, source=secrets, services=services)
    else:
        variables = _plain_only(loaded, env, services)
    values: dict[str, Value] = flat_values(variables)
    omitted = list(dict.fromkeys(v.name for v in variables if v.secret and v.used))
    if reveal:
        omitted = []
    for name in omitted:
        values.pop(name, None)
    missing = [name for name, value in values.items() if value is None]
    if reveal and missing:
        environment = resolve_environment(loaded, env)
        raise SecretsMissingError(
            missing,
            environment=env,
            hint=missing_hint(missing, environment, effective_source(secrets)),
        )
    plain_text = {
        name: (value.reveal() if isinstance(value, Secret) else value)
        for name, value in values.items()
        if value is not None
    }
    text = format_json(plain_text) if fmt == "json" else format_dotenv(plain_text)
    if reveal:
        _write_raw(text)
    else:
        context.output.echo(text.rstrip("\n"))
        if omitted:
            context.output.info(
                f"omitted secret{'s' if len(omitted) != 1 else ''} {', '.join(omitted)}; "
                f"pass --reveal to include {'its value' if len(omitted) == 1 else 'their values'}"
            )


def _plain_only(loaded: LoadedConfig, env: str, services: list[str] | None) -> list[Variable]:
    """The variables of ``env`` without reading any secret value (no keyring needed)."""
    from shipit.config.edit import describe
    from shipit.config.overlay import resolve_environment
    from shipit.core.envvars import Variable, config_table

    environment = resolve_environment(loaded, env)
    rows: list[Variable] = []
    for name_, spec in environment.services.items():
        if services is not None and name_ not in services:
            continue
        for name, value in spec.env.items():
            table = describe(config_table(loaded, env, name_, name))
            secret = name in spec.plain_secrets
            rows.append(Variable(name, (name_,), secret, "config", "config", table, value))
        for name in spec.secrets:
            rows.append(Variable(name, (name_,), True, "env", "omitted", "", None))
    return rows


def _env_names(loaded: LoadedConfig) -> str:
    return ", ".join(loaded.config.environments) or "none"


# --- diff -----------------------------------------------------------------------------------


def env_diff(
    a: Annotated[str, typer.Argument(metavar="A", help="First environment.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Second environment.")],
    service: ServiceOption = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list plain values and settings that match.")
    ] = False,
    secrets: SecretsOption = "auto",
) -> None:
    """Compare two environments: missing, extra and changed keys; secrets by fingerprint."""
    from shipit.config.overlay import resolve_environment
    from shipit.core.envvars import diff_environments, side
    from shipit.fingerprint import fingerprint_key
    from shipit.secrets import effective_source, lookup_secrets

    loaded = context.load()
    env_a = resolve_environment(loaded, a)
    env_b = resolve_environment(loaded, b)
    if service is not None:
        _check_service(loaded, service)
    services = [service] if service else None
    side_a = side(env_a, lookup_secrets(env_a, source=secrets, services=services))
    side_b = side(env_b, lookup_secrets(env_b, source=secrets, services=services))
    key = fingerprint_key(
        loaded.config.project.name, use_keyring=effective_source(secrets) == "keyring"
    )
    if key.warning:
        context.output.warn(key.warning)
    rows = diff_environments(side_a, side_b, key, services=services, include_same=show_all)
    differences = sum(1 for r in rows if r.status not in {"same", "unset"})
    if options.current.json:
        context.output.emit_json(
            {
                "a": a,
                "b": b,
                "differences": differences,
                "fingerprint_key": key.origin,
                "rows": [
                    {
                        "service": r.service,
                        "name": r.name,
                        "kind": r.kind,
                        "status": r.status,
                        "a": r.a,
                        "b": r.b,
                    }
                    for r in rows
                ],
            }
        )
        return
    if rows:
        table_rows = [
            [r.service or "-", r.name, r.kind, r.status, r.a or "-", r.b or "-"] for r in rows
        ]
        context.output.table(["SERVICE", "NAME", "KIND", "STATUS", a, b], table_rows)
    if differences:
        context.output.info(f"{differences} difference{'s' if differences != 1 else ''}")
    else:
        context.output.info(f"no differences between {a} and {b}")


# --- check / push ---------------------------------------------------------------------------


def env_check(
    env: Annotated[str, typer.Argument(metavar="ENV", help="Environment to check.")],
    secrets: SecretsOption = "auto",
) -> None:
    """Check that every secret ENV needs has a value (exit 2 naming each missing one)."""
    from shipit.config.overlay import resolve_environment
    from shipit.secrets import checked_source, effective_source, resolve_secrets

    loaded = context.load()
    environment = resolve_environment(loaded, env)
    values = resolve_secrets(environment, source=checked_source(secrets))
    mode = effective_source(secrets)
    if options.current.json:
        context.output.emit_json(
            {"ok": True, "environment": env, "source": mode, "secrets": list(values)}
        )
        return
    if values:
        count = (
            "1 secret has a value" if len(values) == 1 else f"all {len(values)} secrets have values"
        )
        origin = "environment variables" if mode == "env" else "the keyring"
        context.output.echo(f"{env}: {count} ({', '.join(values)}, from {origin})")
    else:
        context.output.echo(f"{env}: no secrets needed")


def env_push(
    env: Annotated[str, typer.Argument(metavar="ENV", help="Environment to update.")],
    unset: Annotated[
        list[str] | None,
        typer.Option("--unset", metavar="NAME", help="Also remove NAME on the provider."),
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option("-s", "--service", help="Only this service (repeatable).")
    ] = None,
    secrets: SecretsOption = "auto",
) -> None:
    """Apply ENV's variables and secrets to its provider (then redeploy where needed)."""
    from shipit.config.overlay import resolve_environment
    from shipit.core.engine import push_env
    from shipit.secrets import checked_source, resolve_secrets

    loaded = context.load()
    environment = resolve_environment(loaded, env)
    for name in unset or []:
        _check_name(name)
    values = resolve_secrets(environment, source=checked_source(secrets), services=service)
    provider = context.provider_for(environment)
    try:
        with context.reporter() as reporter:
            result = push_env(
                environment, provider, values, reporter, unset=unset or (), services=service
            )
    finally:
        provider.close()
    from shipit.cli.render import show_result

    show_result(result)
    result.raise_for_failure()


env_app.command("set")(env_set)
env_app.command("unset")(env_unset)
env_app.command("list")(env_list)
env_app.command("import")(env_import)
env_app.command("export")(env_export)
env_app.command("diff")(env_diff)
env_app.command("check")(env_check)
env_app.command("push")(env_push)
