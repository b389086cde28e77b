"""Command-line edge: turns closeloop's errors into messages and exit codes."""
