"""The README's provider x capability table, generated from the adapters' declarations.

``python -m shipit.providers.table`` prints it; a test keeps the README's copy identical.
"""

from __future__ import annotations

from shipit.providers.base import Capability
from shipit.providers.registry import BUILTIN, provider_class

START = "<!-- providers:start -->"
END = "<!-- providers:end -->"


def capability_table() -> str:
    """A Markdown table: one row per capability, one column per built-in provider."""
    names = list(BUILTIN)
    classes = {name: provider_class(name) for name in names}
    lines = [
        "| capability | " + " | ".join(names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for capability in Capability:
        cells = ["yes" if capability in classes[n].capabilities else "-" for n in names]
        lines.append(f"| `{capability.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_block() -> str:
    """The table between the markers the README keeps it in."""
    return f"{START}\n{capability_table()}\n{END}"


if __name__ == "__main__":
    print(readme_block())  # noqa: T201
