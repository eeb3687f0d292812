"""Commands that roll releases out: deploy, promote, rollback, releases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipit.cli import context

if TYPE_CHECKING:
    from shipit.cli.context import Target
    from shipit.core.plan import DeployPlan

ServiceOption = Annotated[
    list[str] | None, typer.Option("-s", "--service", help="Only this service (repeatable).")
]
SecretsOption = Annotated[
    str,
    typer.Option(
        "--secrets",
        help="Where secret values come from: auto (keyring; env vars in CI), keyring or env.",
    ),
]


def deploy(
    env_name: Annotated[str, typer.Argument(metavar="ENV", help="Environment to deploy.")],
    service: ServiceOption = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Name the release (e.g. v1.2).")] = None,
    builder: Annotated[
        str | None, typer.Option("--builder", help="Image builder: docker, buildah or podman.")
    ] = None,
    secrets: SecretsOption = "auto",
    plan_only: Annotated[
        bool, typer.Option("--plan", help="Print what would change and stop (like `plan`).")
    ] = False,
) -> None:
    """Build and deploy ENV; exits 5 if a health gate fails (the old release keeps serving).

    On a terminal (not CI, no --yes, no --json) the plan is shown first and applied only when
    confirmed; the engine then deploys exactly the artifacts the plan showed.
    """
    from shipit.core.engine import Engine

    with context.open_target(env_name, service, secrets) as target:
        plan = _shown_plan(target, plan_only=plan_only)
        if plan_only:
            return
        with context.reporter() as reporter:
            engine = Engine(target.env, target.provider, target.values, reporter, builder=builder)
            result = engine.deploy(
                target.services,
                release_name=tag,
                artifacts=plan.ready_artifacts if plan else None,
                expected=plan.expected_builds if plan else None,
            )
    from shipit.cli.render import show_result

    show_result(result)
    result.raise_for_failure()


def _shown_plan(target: Target, *, plan_only: bool) -> DeployPlan | None:
    """With --plan, or before a deploy on a terminal: compute and print the plan, then confirm."""
    from shipit.cli import options

    ask = options.current.interactive and not options.current.yes and not context.output.json_mode
    if not (plan_only or ask):
        return None
    from shipit.cli.plan import confirm_plan, show_plan
    from shipit.core.plan import compute_plan

    plan = compute_plan(
        target.env, target.provider, target.values, services=[s.name for s in target.services]
    )
    show_plan(plan)
    if not plan_only and not confirm_plan(plan):
        context.output.error("deploy cancelled; nothing was changed")
        raise typer.Exit(130)
    return plan


def promote(
    tag: Annotated[str | None, typer.Option("--tag", help="Name of the release.")] = None,
    source: Annotated[
        str | None, typer.Option("--from", help="Environment to take the live artifact from.")
    ] = None,
    target: Annotated[str | None, typer.Option("--to", help="Environment to deploy it to.")] = None,
    service: ServiceOption = None,
    secrets: SecretsOption = "auto",
) -> None:
    """Deploy the artifact live in --from to --to, unchanged (never rebuilds)."""
    from shipit.core.engine import Engine, select_services
    from shipit.core.releases import live_artifacts, promote_source, promote_target

    loaded = context.load()
    target_name = promote_target(loaded, target, source)
    source_name = promote_source(loaded, target_name, source)
    source_env = context.environment(loaded, source_name)
    target_env = context.environment(loaded, target_name)
    services, values = context.services_and_secrets(target_env, service, secrets)
    source_provider = context.provider_for(source_env)
    try:
        artifacts = live_artifacts(
            source_provider, select_services(source_env, service), source_env=source_name
        )
    finally:
        source_provider.close()
    provider = context.provider_for(target_env)
    try:
        with context.reporter() as reporter:
            engine = Engine(target_env, provider, values, reporter)
            result = engine.deploy(
                services, release_name=tag, artifacts=artifacts, action="promote"
            )
    finally:
        provider.close()
    from dataclasses import replace

    from shipit.cli.render import show_result

    show_result(replace(result, extra={"from": source_name, "to": target_name}))
    result.raise_for_failure()


def rollback(
    env_name: Annotated[str, typer.Argument(metavar="ENV", help="Environment to roll back.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Release id or name (default: the one before).")
    ] = None,
    service: ServiceOption = None,
    secrets: SecretsOption = "auto",
) -> None:
    """Redeploy an earlier release of ENV (default: the release before the live one)."""
    from shipit.core.engine import Engine
    from shipit.core.releases import rollback_targets

    with context.open_target(env_name, service, secrets) as target:
        targets = rollback_targets(target.provider, target.services, to, environment=env_name)
        with context.reporter() as reporter:
            engine = Engine(target.env, target.provider, target.values, reporter)
            result = engine.rollback(target.services, targets)
    from shipit.cli.render import show_result

    show_result(result)
    result.raise_for_failure()


def releases(
    env_name: Annotated[str, typer.Argument(metavar="ENV", help="Environment.")],
    service: ServiceOption = None,
    limit: Annotated[int, typer.Option("-n", "--limit", help="At most N per service.")] = 20,
) -> None:
    """List releases of ENV, newest first, as the provider records them."""
    from shipit.core.engine import select_services
    from shipit.providers.base import Capability

    loaded = context.load()
    env = context.environment(loaded, env_name)
    provider = context.provider_for(env)
    rows: list[dict[str, object]] = []
    try:
        if Capability.RELEASES not in provider.capabilities:
            from shipit.errors import UsageError

            raise UsageError(f"the {provider.name} provider cannot list releases")
        for spec in select_services(env, service):
            for release in provider.releases(spec)[:limit]:
                rows.append(
                    {
                        "service": spec.name,
                        "id": release.id,
                        "name": release.name,
                        "artifact": release.artifact.ref,
                        "live": release.live,
                        "state": release.state,
                        "created_at": release.created_at,
                        "config_fingerprint": release.config_fingerprint,
                    }
                )
    finally:
        provider.close()
    if context.output.json_mode:
        context.output.emit_json({"environment": env_name, "releases": rows})
        return
    context.output.table(
        ["service", "release", "name", "state", "live", "created"],
        [
            [
                r["service"],
                r["id"],
                r["name"] or "",
                r["state"],
                "*" if r["live"] else "",
                _time(r["created_at"]),
            ]
            for r in rows
        ],
    )


def _time(value: object) -> str:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def register(app: typer.Typer) -> None:
    """Add deploy, promote, rollback and releases to the app."""
    app.command("deploy")(deploy)
    app.command("promote")(promote)
    app.command("rollback")(rollback)
    app.command("releases")(releases)
