"""The docs describe what the code does: every canonical field and every command is documented."""

from __future__ import annotations

from pathlib import Path

from closeloop.cli.app import COMMANDS, module_commands
from closeloop.model import RECORDS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_canonical_field_is_in_data_format_doc() -> None:
    text = (DOCS / "data-format.md").read_text(encoding="utf-8")
    for schema in RECORDS.values():
        assert f"### {schema.name}" in text
        for field in schema.fields:
            assert f"| `{field.name}` |" in text, f"{schema.name}.{field.name} is not documented"


def test_every_command_has_help_and_is_in_commands_doc() -> None:
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    for name, module in COMMANDS.items():
        command = module_commands(module)[name]
        assert command.help, f"closeloop {name} has no help text"
        assert f"## closeloop {name}" in text, f"closeloop {name} is not in docs/commands.md"


def test_command_map_matches_what_modules_register() -> None:
    registered = {name: module for module in set(COMMANDS.values()) for name in module_commands(module)}
    assert registered == COMMANDS
