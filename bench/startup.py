"""Start-up time of the CLI: median wall time of `shipit --version` and `shipit --help`.

Run by hand: ``python bench/startup.py [-n 20]``. Figures go into the README.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def measure(command: list[str], runs: int) -> float:
    """Median seconds of ``runs`` runs of ``command``."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=20)
    args = parser.parse_args()
    shipit = shutil.which("shipit") or sys.exit("shipit is not installed")
    baseline = measure([sys.executable, "-c", "pass"], args.runs)
    for argv in (["--version"], ["--help"], ["status", "--help"]):
        median = measure([shipit, *argv], args.runs)
        command = " ".join(argv)
        print(
            f"shipit {command:<16} {median * 1000:7.1f} ms  (bare python: {baseline * 1000:.1f} ms)"
        )


if __name__ == "__main__":
    main()
