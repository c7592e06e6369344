"""Documentation stays honest: every command has help text and is in the README."""

from __future__ import annotations

import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from acams_db.cli.app import app
from tests.support import REPOSITORY

COMMANDS = sorted(name for name, command in get_command(app).commands.items() if not command.hidden)  # type: ignore[attr-defined]
README = (REPOSITORY / "README.md").read_text()
MAKEFILE = (REPOSITORY / "Makefile").read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(result.output.strip().splitlines()) > 3


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command: str) -> None:
    assert re.search(rf"acams-db {command}\b", README), f"README.md does not mention `acams-db {command}`"


def test_every_make_target_is_in_the_readme() -> None:
    targets = re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.MULTILINE)
    missing = [target for target in targets if f"make {target}" not in README]
    assert not missing, f"README.md does not mention: {missing}"
