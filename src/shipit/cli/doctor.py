"""The doctor command: check the project against the deploy rules and print each fix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipit.cli import context

if TYPE_CHECKING:
    from shipit.core.doctor import DoctorReport

_LABELS = {"pass": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def doctor(
    env_name: Annotated[
        str | None,
        typer.Argument(metavar="[ENV]", help="Only this environment (default: every one)."),
    ] = None,
) -> None:
    """Check the project against the deploy rules; exits 5 when a check fails."""
    from shipit.core.doctor import run_checks

    loaded = context.load()
    if env_name is not None:
        context.environment(loaded, env_name)  # an unknown name is a config error (exit 2)
    report = run_checks(loaded, env_name)
    show_report(report)
    if report.ok:
        return
    from shipit import ci
    from shipit.errors import ChecksFailedError

    failed = report.failed
    names = ", ".join(dict.fromkeys(c.name for c in failed))
    error = ChecksFailedError(
        f"{len(failed)} check(s) failed: {names}",
        hint="apply the fixes above, then run `shipit doctor` again",
    )
    for check in failed:
        ci.annotate("error", f"{check.message} (fix: {check.fix})" if check.fix else check.message)
    raise error  # with --json, the report above stays the one document on stdout


def show_report(report: DoctorReport) -> None:
    """The report as one JSON document, or a table and a count line."""
    if context.output.json_mode:
        context.output.emit_json(report.to_dict())
        return
    rows = [
        [_LABELS[c.status], c.name, c.environment or "", c.message, c.fix or ""]
        for c in report.checks
    ]
    context.output.table(["status", "check", "env", "result", "fix"], rows)
    counts = {status: 0 for status in _LABELS}
    for check in report.checks:
        counts[check.status] += 1
    context.output.echo(
        f"{counts['pass']} passed, {counts['warn']} warning(s), {counts['fail']} failed, "
        f"{counts['skip']} skipped"
    )


def register(app: typer.Typer) -> None:
    """Add the doctor command to the app."""
    app.command("doctor")(doctor)
