"""Reading and writing .env files: python-dotenv's syntax, literal values, exact round trips.

Reading accepts what python-dotenv accepts: ``export`` prefixes, comments, single- and
double-quoted values (multi-line inside quotes), escapes in double quotes. Values are taken
literally: ``${OTHER}`` is not expanded (an import must not capture this machine's variables).
A line dotenv cannot parse is an error naming its line; values are never part of a message.

Writing quotes only what needs it, so that reading the output back gives the same values.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shipit.errors import UsageError

_BARE = re.compile(r"[A-Za-z0-9_./:@%+,=-]*")
_UNQUOTED = re.compile(r"[^\s'\"][^\r\n]*\S|\S")
_COMMENT = re.compile(r"\s#")


@dataclass(frozen=True)
class EnvFile:
    """The variables of a .env file, in file order; ``empty`` lists keys given no value."""

    values: dict[str, str]
    empty: list[str] = field(default_factory=list)


def parse_dotenv(text: str, *, source: str = ".env") -> EnvFile:
    """The variables in ``text``; a UsageError naming the first line dotenv cannot parse."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise UsageError(
                f"{source}:{binding.original.line}: cannot parse this line as NAME=VALUE",
                hint="quote values with spaces, # or newlines: NAME=\"...\" or NAME='...'",
            )
    parsed = dotenv_values(stream=io.StringIO(text), interpolate=False)
    values = {name: value for name, value in parsed.items() if value is not None}
    empty = [name for name, value in parsed.items() if value is None]
    return EnvFile(values, empty)


def quote(value: str) -> str:
    """``value`` written so that python-dotenv reads it back unchanged."""
    if value and _BARE.fullmatch(value):
        return value
    if not value.endswith("\\"):
        if "'" not in value:
            return "'" + value.replace("\\", "\\\\") + "'"
        escaped = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        return f'"{escaped}"'
    if _UNQUOTED.fullmatch(value) and not _COMMENT.search(value):
        return value
    raise UsageError(
        "a value that ends with a backslash and has spaces, quotes or line breaks "
        "cannot be written to a .env file",
        hint="use --format json",
    )


def format_dotenv(values: Mapping[str, str]) -> str:
    """A .env text with one ``NAME=value`` line per variable."""
    return "".join(f"{name}={quote(value)}\n" for name, value in values.items())


def format_json(values: Mapping[str, str]) -> str:
    """A JSON object ``{"NAME": "value"}`` (with a final newline)."""
    return json.dumps(dict(values), indent=2) + "\n"
