"""``python -m closeloop`` runs the command line."""

from closeloop.cli.app import main

main()
