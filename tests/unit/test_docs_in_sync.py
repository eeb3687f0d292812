"""The README's provider table and command list cannot drift from the code."""

from __future__ import annotations

import re

from tests.helpers import REPO_ROOT

from shipit.cli.app import app
from shipit.cli.commands import register
from shipit.providers.table import END, START, readme_block

README = (REPO_ROOT / "README.md").read_text()


def test_readme_provider_table_is_generated_from_capabilities() -> None:
    start, end = README.index(START), README.index(END) + len(END)
    assert README[start:end] == readme_block(), "run: python -m shipit.providers.table"


def cli_commands() -> set[str]:
    register(app)
    names = {command.name for command in app.registered_commands if command.name}
    for group in app.registered_groups:
        sub = group.typer_instance
        names |= {f"{group.name} {c.name}" for c in sub.registered_commands if c.name}
    return names


def test_every_command_is_in_the_readme_and_every_readme_command_exists() -> None:
    commands = cli_commands()
    documented = set()
    for match in re.finditer(r"^\| `shipit ([a-z]+(?: [a-z]+)?)", README, re.MULTILINE):
        documented.add(match.group(1))
    for name in commands:
        top = name.split()[0]
        assert name in documented or top in documented or name in README, f"{name} not in README"
    for name in documented:
        assert name in commands or any(c.startswith(name + " ") for c in commands), name
