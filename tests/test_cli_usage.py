"""acams-db as people use it: help that reads like a well-kept CLI, usage errors, prompts, waits, a fresh client."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from acams_db.cli.app import app
from tests.support import REPOSITORY, PostgresServer, Project, next_migration

COMMANDS = sorted(name for name, command in get_command(app).commands.items() if not command.hidden)  # type: ignore[attr-defined]
# What Typer 0.29 wrote: types such as <bool>, <str>, <list[str]>, <path> that read as syntax to type.
TYPE_LABEL = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\])>")
# A `code span` is one word: it is never split.
FIRST_WORD = re.compile(r"`[^`]*`\S*|\S+")
# click's help is at most 80 columns wide, however wide the terminal (HelpFormatter's max_width).
HELP_WIDTH = 78


def help_text(command: str | None, columns: int) -> str:
    """`acams-db [COMMAND] --help` in a terminal `columns` wide (click reads COLUMNS)."""
    arguments = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(app, arguments, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def description_paragraphs(text: str) -> list[list[str]]:
    """The paragraphs of the description: between the usage line and the first section (Arguments:, Options:)."""
    body = text.split("\n\n", 1)[1].split("\nArguments:")[0].split("\nOptions:")[0].split("\nCommands:")[0]
    return [block.splitlines() for block in body.strip("\n").split("\n\n")]


@pytest.mark.parametrize("columns", [80, 120])
def test_help_of_every_command_shows_no_types_braces_doubled_defaults_or_early_line_breaks(columns: int) -> None:
    """Issue #14: <bool> on every flag (`--force true` is refused), {name}, a default twice, a line broken early."""
    for command in [None, *COMMANDS]:
        text = help_text(command, columns)
        where = f"acams-db {command or ''} --help at {columns} columns:\n{text}"
        assert not TYPE_LABEL.search(text), where
        assert "{" not in text.splitlines()[0], where
        assert "[default:" not in text, where  # each default is said once, in the option's own help
        assert all(len(line) <= max(HELP_WIDTH, 80) for line in text.splitlines()), where
        assert not any(line.rstrip().endswith(("-", "—")) for line in text.splitlines()), where  # no split word
        assert not any(line.endswith("...") for line in text.splitlines()[1:]), where  # no summary cut short
        for paragraph in description_paragraphs(text):
            for line, following in itertools.pairwise(paragraph):
                # A line ends early only when the next word would not have fitted on it.
                word = FIRST_WORD.match(following.lstrip())
                assert word and len(line) + 1 + len(word[0]) > HELP_WIDTH, f"{line!r} then {following!r}; {where}"


def test_usage_lines_name_arguments_as_click_does() -> None:
    assert help_text("resolve", 80).startswith("Usage: acams-db resolve [OPTIONS] NAME\n")
    assert help_text("review", 80).startswith("Usage: acams-db review [OPTIONS] [NAMES]...\n")
    assert "--as rolled-back|applied" in help_text("resolve", 80)
    assert "--env ENV" in help_text("status", 80)


def test_an_unknown_environment_is_a_usage_error(project: Project) -> None:
    """A bad --env exited 1, though usage errors are documented as 2."""
    result = project.run("status", "--env", "prod")
    assert result.returncode == 2
    assert "error: Unknown environment 'prod': expected one of development, staging, production." in result.stderr


def test_hints_after_acams_db_name_its_options(project: Project) -> None:
    resolved = project.run("resolve", "20261124_101500_x", "--as", "maybe")
    assert resolved.returncode == 2
    assert "error: --as must be rolled-back or applied, not 'maybe'." in resolved.stderr
    assert project.run("deploy").returncode == 0
    for command in ("reset", "rollback"):
        refused = project.run(command)  # stdin is not a terminal
        assert refused.returncode == 1
        assert "needs confirmation: run it on a terminal, or pass --force." in refused.stderr
        assert "force=1" not in refused.stderr


def test_a_declined_prompt_does_nothing_and_is_no_error_under_make_either(
    project: Project, postgres: PostgresServer
) -> None:
    """Answering N printed "Aborted." and then make's "Error 1"."""
    assert project.run("deploy").returncode == 0
    shutil.copy2(REPOSITORY / "Makefile", project.root / "Makefile")
    applied = "SELECT count(*) FROM _prisma_migrations WHERE rolled_back_at IS NULL"
    before = postgres.psql(applied, url=project.database_url)
    make = ["make", "--no-print-directory", f"VENV={REPOSITORY / '.venv'}"]
    for command in ([sys.executable, "-m", "acams_db", "rollback"], [*make, "rollback"], [*make, "reset"]):
        code, output = project.on_a_terminal(command, "n\n", MAKEFLAGS=None, MFLAGS=None, MAKELEVEL=None)
        assert code == 0, output
        assert output.rstrip().endswith("Nothing done."), output
        assert "Error" not in output and "Aborted" not in output
        assert postgres.psql(applied, url=project.database_url) == before


def test_resolve_ends_once_the_record_is_written(project: Project, postgres: PostgresServer) -> None:
    """resolve took 11 s for 1.3 s of CPU: the wasm schema engine's 10 s timer kept Node's event loop alive."""
    assert project.run("deploy").returncode == 0
    broken = next_migration("broken")
    project.write_migration(broken, "CREATE TABLE twice (id INT);\nCREATE TABLE twice (id INT);\n")
    assert project.run("deploy").returncode != 0
    started = time.monotonic()
    result = project.run("resolve", broken, "--as", "rolled-back")
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    rolled_back = f"SELECT rolled_back_at IS NOT NULL FROM _prisma_migrations WHERE migration_name = '{broken}'"
    assert postgres.psql(rolled_back, url=project.database_url) == "t"
    assert seconds < 8, f"resolve took {seconds:.1f} s"  # 1.7 s here on a loaded machine; 12 s with the wait


def test_a_client_generated_by_hand_from_another_schema_is_regenerated(project: Project, tmp_path: Path) -> None:
    """Add a field, `prisma generate`, remove it: make generate said "up to date" and queries failed.

    The client is generated into a copy of the prisma package first on PYTHONPATH, not into the shared one.
    """
    packages = tmp_path / "packages"
    # The environment's own client: in this process `prisma` may be another suite's (tests/.generated).
    shutil.copytree(Path(sysconfig.get_paths()["purelib"]) / "prisma", packages / "prisma")
    shutil.copy2(REPOSITORY / "Makefile", project.root / "Makefile")
    environment = project.environment(
        PYTHONPATH=str(packages), PATH=f"{REPOSITORY / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    )

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=project.root, env=environment, capture_output=True, text=True, check=False)

    assert project.run("deploy").returncode == 0
    make = ["make", "--no-print-directory", f"VENV={REPOSITORY / '.venv'}", "generate"]
    assert run(*make).returncode == 0
    original = project.schema.read_text()
    project.schema.write_text(
        original.replace("  name        String\n", "  name        String\n  nickname    String?\n")
    )
    by_hand = run(str(project.root / "node_modules" / ".bin" / "prisma"), "generate")
    assert by_hand.returncode == 0, by_hand.stderr
    assert "nickname" in (packages / "prisma" / "models.py").read_text()
    project.schema.write_text(original)

    regenerated = run(*make)
    assert regenerated.returncode == 0, regenerated.stderr
    assert "Generated Prisma Client Python." in regenerated.stdout
    assert "nickname" not in (packages / "prisma" / "models.py").read_text()
    query = (
        "import asyncio\nfrom prisma import Prisma\n"
        "async def main():\n    db = Prisma()\n    await db.connect()\n"
        "    print(len(await db.user.find_many()))\n    await db.disconnect()\n"
        "asyncio.run(main())\n"
    )
    queried = run(sys.executable, "-c", query)
    assert queried.returncode == 0, queried.stderr
    assert queried.stdout.strip() == "0"
    assert "Prisma Client Python is up to date." in run(*make).stdout


# Run as `python -c` with ARGUMENTS: SIGINT reaches this process the moment it starts importing module
# argv[1] (a real signal, taken by Python at its next instruction), then acams-db runs argv[2:].
SIGINT_ON_IMPORT = """
import os, signal, sys

class SigintOnImport:
    def __init__(self, module):
        self.module = module

    def find_spec(self, name, path=None, target=None):
        if name == self.module:
            os.kill(os.getpid(), SIGNAL)
        return None

SIGNAL = signal.Signals[sys.argv.pop(1)]
# A shell's background job starts with SIGINT ignored, and Python keeps an ignored SIGINT ignored: as on a terminal.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.meta_path.insert(0, SigintOnImport(sys.argv[1]))
sys.argv = ["acams-db", *sys.argv[2:]]
from acams_db.cli.main import main
main()
"""


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    ("module", "command"),
    [
        ("typer", ["status"]),  # the command line still loading: a traceback of the imports
        ("acams_db.migrations.lint", ["lint-migrations"]),  # in a command: Typer exited 130 silently
    ],
)
def test_ctrl_c_outside_a_commands_own_handling_says_interrupted_in_one_line_and_exits_130(
    project: Project, module: str, command: list[str], signal_name: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SIGINT_ON_IMPORT, signal_name, module, *command],
        cwd=project.root,
        env=project.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    expected = (128 + signal.Signals[signal_name], f"error: Interrupted by {signal_name}.\n")
    assert (result.returncode, result.stderr) == expected, result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["restore", "backups/none.dump", "--json"],  # an error: 1
        ["restore", ".", "--json"],  # a usage error: 2
        ["backup", "--json", "--label", "stateA"],
        ["status", "--json", "--env", "nowhere"],
    ],
)
def test_a_failure_with_json_prints_the_error_as_one_json_document_too(project: Project, command: list[str]) -> None:
    result = project.run(*command)
    assert result.returncode in (1, 2), result.stderr
    message = result.stderr.splitlines()[-1]
    assert message.startswith("error: ")
    assert json.loads(result.stdout) == {"error": message.removeprefix("error: "), "exit_code": result.returncode}
