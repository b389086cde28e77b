"""Write docs/commands.md from the commands' own --help, so the two never disagree.

    .venv/bin/python tools/commands_doc.py
"""

from __future__ import annotations

import os
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from closeloop.cli.app import app

OUT = Path(__file__).resolve().parents[1] / "docs" / "commands.md"

HEADER = """# Commands

Every command works on the workspace in the current folder (or the nearest one above it),
or on `--workspace DIR`. Exit codes: 0 success; 1 a check failed or nothing was selected;
2 bad input or configuration (the message names the file, key or field); 3 storage failure;
4 simulation failure.

This page is generated from the commands' own `--help` by `tools/commands_doc.py`.
"""


def help_text(args: list[str]) -> str:
    """The plain-text --help of a command."""
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def main() -> None:
    os.environ["COLUMNS"] = "100"
    parts = [HEADER, "```text", help_text([]), "```"]
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):  # type: ignore[attr-defined]
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        parts += [f"\n## closeloop {name}\n", "```text", help_text([name]), "```"]
        for sub in getattr(command, "commands", {}):
            parts += [f"\n### closeloop {name} {sub}\n", "```text", help_text([name, sub]), "```"]
    OUT.write_text("\n".join(parts) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
