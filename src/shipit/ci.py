"""CI integration: detect CI, and write GitHub Actions annotations and step summaries.

Under GitHub Actions (``GITHUB_ACTIONS`` set) every error the CLI reports becomes an
``::error::`` workflow command on stderr, warnings of a deploy become ``::warning::``, and a
deploy, promote, rollback or env push appends a Markdown summary (services, release, URL,
health, duration; the failing step, error and last log lines when it failed) to the file named
by ``$GITHUB_STEP_SUMMARY``. An error that ends a command before any result (a missing token,
a config error) is summarised too. Everything written passes through
:func:`shipit.sensitive.redact`.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Literal

from shipit.errors import DeployFailedError, ShipitError
from shipit.sensitive import redact

if TYPE_CHECKING:
    from shipit.core.engine import DeployResult

AnnotationLevel = Literal["error", "warning", "notice"]
ANNOTATION_TAIL = 5

_summaries_written = 0


def in_ci() -> bool:
    """True when running under CI (``CI=true``)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def in_github_actions() -> bool:
    """True when running as a GitHub Actions step."""
    return bool(os.environ.get("GITHUB_ACTIONS"))


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def annotate(level: AnnotationLevel, message: str, *, title: str = "shipit") -> None:
    """Write one ``::error::``/``::warning::`` workflow command to stderr under GitHub Actions."""
    if not in_github_actions():
        return
    line = f"::{level} title={_escape_property(title)}::{_escape(redact(message))}\n"
    sys.stderr.write(line)
    sys.stderr.flush()


def annotate_error(error: ShipitError) -> None:
    """The error (its hint, and a failed deploy's last log lines) as an ``::error::`` line."""
    if not in_github_actions():
        return
    message = str(error)
    if error.hint:
        message += f" (hint: {error.hint})"
    if isinstance(error, DeployFailedError) and error.log_tail:
        message += "\nlast log lines:\n" + "\n".join(error.log_tail[-ANNOTATION_TAIL:])
    annotate("error", message)
    if not _summaries_written:
        summarize_error(error)


def _cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    text = "-" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _append(text: str) -> bool:
    """Append ``text`` to the step summary file; False when there is none."""
    global _summaries_written
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not in_github_actions() or not path:
        return False
    with open(path, "a", encoding="utf-8") as summary:
        summary.write(redact(text).rstrip("\n") + "\n\n")
    _summaries_written += 1
    return True


def summary_markdown(result: DeployResult) -> str:
    """A result as Markdown: a heading with the verdict, a table, failures with log tails."""
    status = "succeeded" if result.ok else "FAILED"
    extra = result.extra
    where = f"`{result.environment}`"
    if extra.get("from"):
        where = f"`{extra['from']}` → `{result.environment}`"
    icon = "✅" if result.ok else "❌"
    facts = [f"provider {result.provider}", f"duration {result.duration:.1f}s"]
    if result.release_name:
        facts.append(f"release {result.release_name}")
    lines = [
        f"### {icon} shipit {result.action} to {where} {status}",
        "",
        " · ".join(facts),
        "",
        "| service | result | release | url | health | duration |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in result.services:
        health = o.health.state if o.health else ("failed" if not o.ok else "-")
        verdict = "live" if o.ok else f"failed at {o.step}"
        release = o.release or ""
        if release and o.release_name:
            release += f" ({o.release_name})"
        lines.append(
            f"| {_cell(o.service)} | {_cell(verdict)} | {_cell(release)} | {_cell(o.url)} "
            f"| {_cell(health)} | {o.duration:.1f}s |"
        )
    for o in result.services:
        for warning in o.warnings:
            lines += ["", f"> warning: {warning}"]
        if o.ok:
            continue
        lines += ["", f"**{o.service}** failed at {o.step}: {o.error or 'unknown error'}"]
        if o.log_tail:
            lines += [
                "",
                "<details><summary>last log lines</summary>",
                "",
                "```",
                *o.log_tail,
                "```",
                "",
                "</details>",
            ]
    return "\n".join(lines)


def write_summary(result: object) -> None:
    """Append a result's summary to ``$GITHUB_STEP_SUMMARY`` under GitHub Actions."""
    from shipit.core.engine import DeployResult

    if isinstance(result, DeployResult):
        _append(summary_markdown(result))


def summarize_error(error: ShipitError) -> None:
    """A command that failed before it had a result: its error and fix in the summary."""
    lines = [f"### ❌ shipit failed (exit {error.exit_code})", "", _cell(str(error))]
    if error.hint:
        lines += ["", f"Fix: {error.hint}"]
    _append("\n".join(lines))
