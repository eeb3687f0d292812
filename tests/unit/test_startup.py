"""Start-up stays light: the heavy libraries are imported only by the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from shipit.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

HEAVY = ("httpx", "rich", "pydantic", "keyring", "tomlkit", "graphql", "dotenv")


def imported_by(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    last = done.stderr.strip().splitlines()[-1]
    return {name.split(".")[0] for name in json.loads(last)}


def test_version_imports_none_of_the_heavy_libraries() -> None:
    modules = imported_by("--version")
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_a_config_error_needs_no_network_or_ui_library(tmp_path) -> None:
    config = tmp_path / "shipit.toml"
    config.write_text("[project]\nname = 'x'\n")
    modules = imported_by("-c", str(config), "status", "local")
    assert not modules & {"httpx", "keyring", "graphql"}
