"""Time of a local deploy of the example: first deploy (build + start + health) and a redeploy.

Run by hand from the repository root: ``python bench/deploy_local.py [-n 5]``. It copies the
example to a temporary folder, deploys it to the `local` environment on a free port, and stops it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomlkit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import free_port_block  # noqa: E402


def shipit(root: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(["shipit", *args], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=5)
    args = parser.parse_args()
    first, again = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            shutil.copytree(ROOT / "examples" / "app", root / "examples" / "app")
            document = tomlkit.parse((ROOT / "shipit.example.toml").read_text())
            document["environments"]["local"]["local"]["port"] = free_port_block(2)  # type: ignore[index]
            (root / "shipit.toml").write_text(tomlkit.dumps(document))
            try:
                first.append(shipit(root, "deploy", "local"))
                again.append(shipit(root, "deploy", "local"))
            finally:
                shipit(root, "down", "local")
    print(f"first deploy (build+start+health): median {statistics.median(first):.2f} s")
    print(f"redeploy (blue/green swap):        median {statistics.median(again):.2f} s")


if __name__ == "__main__":
    main()
