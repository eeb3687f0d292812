"""Run shipit as ``python -m shipit``."""

from shipit.cli.app import main

main()
