"""``python -m rootspan`` runs the CLI (what tests use to get a clean process)."""

from rootspan.cli import main

main()
