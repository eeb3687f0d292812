"""The plan command: what `shipit deploy ENV` would change, shown before anything changes.

``--detailed-exit-code`` follows Terraform and Railway's ``config plan``: 0 means no changes,
2 means changes are pending, and every other code is an error. Usage and config errors also
exit 2 (shipit's exit code for them), so a script that must tell the two apart reads the JSON
document's ``"changes"`` field (``--json``), which is only printed when the plan was computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipit.cli import context
from shipit.cli.deploy import SecretsOption, ServiceOption

if TYPE_CHECKING:
    from shipit.core.plan import DeployPlan, ServicePlan

CHANGES_PENDING = 2


def plan(
    env_name: Annotated[str, typer.Argument(metavar="ENV", help="Environment to plan for.")],
    service: ServiceOption = None,
    detailed_exit_code: Annotated[
        bool,
        typer.Option(
            "--detailed-exit-code",
            help="Exit 0 when nothing would change, 2 when changes are pending "
            "(errors keep their own codes; usage and config errors are 2 as well, "
            'so read "changes" from --json to tell them apart).',
        ),
    ] = False,
    secrets: SecretsOption = "auto",
) -> None:
    """Show what `shipit deploy ENV` would change; reads the provider, changes nothing."""
    plan_ = _compute(env_name, service, secrets)
    show_plan(plan_)
    if detailed_exit_code and plan_.changes:
        raise typer.Exit(CHANGES_PENDING)


def _compute(env_name: str, service: list[str] | None, secrets: str) -> DeployPlan:
    from shipit.core.plan import compute_plan

    with context.open_target(env_name, service, secrets) as target:
        return compute_plan(
            target.env,
            target.provider,
            target.values,
            services=[s.name for s in target.services],
        )


def service_rows(service: ServicePlan) -> list[list[str]]:
    """The table rows of one service: its action first, then one row per change."""
    action: str = service.action
    if service.restart and service.action != "create":
        action += ", restarts"
    rows = [[service.service, action, service.artifact.describe()]]
    for change in service.env:
        rows.append([service.service, "env", change.describe()])
    if service.database is not None:
        rows.append([service.service, "database", service.database.describe()])
    for note in service.notes:
        rows.append([service.service, "note", note])
    return rows


def summary_line(plan_: DeployPlan) -> str:
    """One line: how many services are created, updated, unchanged."""
    count = {"create": 0, "update": 0, "none": 0}
    for service in plan_.services:
        count[service.action] += 1
    if not plan_.changes:
        line = f"No changes in {plan_.environment!r}."
        running = [s.service for s in plan_.services if s.restart]
        if running:
            line += f" A deploy would roll out the same release again ({', '.join(running)})."
        return line
    return (
        f"Plan for {plan_.environment!r}: {count['create']} to create, "
        f"{count['update']} to update, {count['none']} unchanged."
    )


def show_plan(plan_: DeployPlan) -> None:
    """Print a plan: the JSON document, or a table (rich on a TTY) and a summary line."""
    if context.output.json_mode:
        context.output.emit_json(plan_.to_dict())
        return
    rows = [row for service in plan_.services for row in service_rows(service)]
    context.output.table(
        ["service", "action", "change"],
        rows,
        title=f"{plan_.environment} ({plan_.provider})",
    )
    for note in plan_.notes:
        context.output.info(f"note: {note}")
    context.output.echo(summary_line(plan_))


def confirm_plan(plan_: DeployPlan) -> bool:
    """Ask on the terminal whether to apply the plan just shown (stderr; default no)."""
    question = "Deploy these changes?" if plan_.changes else "Nothing changed; deploy anyway?"
    return typer.confirm(question, default=False, err=True)


def register(app: typer.Typer) -> None:
    """Add the plan command to the app."""
    app.command("plan")(plan)
