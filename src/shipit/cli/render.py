"""Turning core results into output: a JSON document or human lines."""

from __future__ import annotations

from typing import Any

from shipit.cli import context
from shipit.core.engine import DeployResult, ServiceOutcome


def outcome_document(outcome: ServiceOutcome) -> dict[str, Any]:
    """One service's outcome as JSON."""
    return {
        "name": outcome.service,
        "ok": outcome.ok,
        "step": outcome.step,
        "url": outcome.url,
        "release": outcome.release,
        "release_name": outcome.release_name,
        "artifact": outcome.artifact.ref if outcome.artifact else None,
        "digest": outcome.artifact.digest if outcome.artifact else None,
        "deployment": outcome.deployment.id if outcome.deployment else None,
        "health": outcome.health.state
        if outcome.health
        else ("failed" if not outcome.ok else None),
        "error": outcome.error,
        "log_tail": list(outcome.log_tail),
        "warnings": list(outcome.warnings),
        "duration_s": outcome.duration,
    }


def result_document(result: DeployResult) -> dict[str, Any]:
    """A deploy, promote, rollback or env push as one JSON document."""
    document: dict[str, Any] = {
        "ok": result.ok,
        "action": result.action,
        "environment": result.environment,
        "provider": result.provider,
        "release_name": result.release_name,
        "duration_s": result.duration,
        "services": [outcome_document(o) for o in result.services],
    }
    document.update(result.extra)
    return document


def show_result(result: DeployResult) -> None:
    """Print a result: the JSON document, or one line per service."""
    from shipit import ci

    ci.write_summary(result)
    for warning in (w for outcome in result.services for w in outcome.warnings):
        ci.annotate("warning", warning)
    if context.output.json_mode:
        context.output.emit_json(result_document(result))
        return
    for outcome in result.services:
        for warning in outcome.warnings:
            context.output.warn(warning)
        if outcome.ok:
            name = f" ({outcome.release_name})" if outcome.release_name else ""
            release = f"release {outcome.release}{name}" if outcome.release else "updated"
            url = outcome.url or ""
            context.output.echo(f"{outcome.service}: {release} live {url}".rstrip())
        else:
            context.output.echo(f"{outcome.service}: FAILED at {outcome.step}: {outcome.error}")
