"""Global options are accepted anywhere on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipit.cli.options import extract


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "deploy", "local"],
        ["deploy", "local", "--json"],
        ["deploy", "--json", "local"],
    ],
)
def test_json_anywhere(argv: list[str]) -> None:
    options, rest = extract(argv)
    assert options.json is True
    assert rest == ["deploy", "local"]


def test_config_forms() -> None:
    for argv in (
        ["-c", "x.toml", "status"],
        ["status", "--config", "x.toml"],
        ["status", "--config=x.toml"],
        ["status", "-cx.toml"],
    ):
        options, rest = extract(argv)
        assert options.config == Path("x.toml"), argv
        assert rest == ["status"]


def test_nothing_after_double_dash_is_touched() -> None:
    options, rest = extract(["env", "set", "X", "--", "--json"])
    assert options.json is False
    assert rest == ["env", "set", "X", "--", "--json"]


def test_yes_and_verbose() -> None:
    options, rest = extract(["down", "local", "-y", "--verbose"])
    assert options.yes and options.verbose
    assert rest == ["down", "local"]


def test_missing_config_value_is_left_for_the_parser() -> None:
    options, rest = extract(["status", "-c"])
    assert options.config is None
    assert rest == ["status", "-c"]
