"""The Makefile's flags and exit codes, with real `make` processes in a project copy."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import REPOSITORY, PostgresServer, Project

# Every flag of every target, and the option it turns on.
FLAGS = [
    ("migrate", "create_only", "--create-only"),
    ("deploy", "no_backup", "--no-backup"),
    ("reset", "force", "--force"),
    ("restore", "force", "--force"),
    ("restore", "allow_production", "--allow-production"),
    ("seed", "prune", "--prune"),
    ("seed", "dry_run", "--dry-run"),
    ("rollback", "force", "--force"),
    ("rollback", "dry_run", "--dry-run"),
    ("studio", "read_only", "--read-only"),
    ("bench", "quick", "--quick"),
]
ON = ["1", "true", "yes", "TRUE", "Yes"]
OFF = ["0", "false", "no", "", "FALSE", "No"]
BAD = ["maybe", "2", "on", "%", "yes no"]


def make(project: Project, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run make in the project copy, with the repository's installed environment."""
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={REPOSITORY / '.venv'}", *arguments],
        cwd=project.root,
        env=project.environment(MAKEFLAGS=None, MFLAGS=None, MAKELEVEL=None),  # not the outer make's, under make test
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def project(project: Project) -> Project:
    shutil.copy2(REPOSITORY / "Makefile", project.root / "Makefile")
    return project


def command_of(result: subprocess.CompletedProcess[str], target: str) -> str:
    """The acams-db (or bench) command line `make -n` would run for `target`."""
    assert result.returncode == 0, result.stderr
    word = "bench/run.py" if target == "bench" else f"acams-db {target}"
    (line,) = [line for line in result.stdout.splitlines() if word in line]
    return line


@pytest.mark.parametrize(("target", "variable", "option"), FLAGS)
def test_yes_values_turn_a_flag_on_in_any_case(project: Project, target: str, variable: str, option: str) -> None:
    for value in ON:
        assert option in command_of(make(project, "-n", target, f"{variable}={value}"), target).split(), value


@pytest.mark.parametrize(("target", "variable", "option"), FLAGS)
def test_no_values_and_empty_leave_a_flag_off(project: Project, target: str, variable: str, option: str) -> None:
    for value in OFF:
        assert option not in command_of(make(project, "-n", target, f"{variable}={value}"), target).split(), value
    assert option not in command_of(make(project, "-n", target), target).split()


@pytest.mark.parametrize(("target", "variable", "option"), FLAGS)
def test_any_other_value_is_a_usage_error_naming_the_variable(
    project: Project, target: str, variable: str, option: str
) -> None:
    for value in BAD:
        result = make(project, "-n", target, f"{variable}={value}")
        assert result.returncode == 2, value
        assert f"{variable}={value}: expected 1/true/yes or 0/false/no" in result.stderr
        assert "acams-db" not in result.stdout  # stopped before the command


def test_a_bad_flag_stops_make_before_the_command_runs(project: Project, postgres: PostgresServer) -> None:
    """`make deploy no_backup=0` no longer skips anything, and a bad value applies nothing."""
    result = make(project, "deploy", "no_backup=maybe")
    assert result.returncode == 2
    assert "no_backup=maybe: expected 1/true/yes or 0/false/no" in result.stderr
    assert "_prisma_migrations" not in postgres.tables(project.database_url)


def test_make_status_shows_the_status_code(project: Project) -> None:
    """GNU make exits 2 for any failed recipe; its Error line carries acams-db's code (13: pending)."""
    result = make(project, "status")
    assert result.returncode == 2
    assert "Not up to date (exit 13)." in result.stdout
    assert result.stderr.rstrip().endswith("status] Error 13")
    assert make(project, "deploy").returncode == 0
    assert make(project, "status").returncode == 0


def test_make_deploy_shows_a_refusal_code(project: Project) -> None:
    project.write_migration("20990101_000000_later", "SELECT 1;\n")
    result = make(project, "deploy")
    assert result.returncode == 2
    assert "future-date" in result.stderr
    assert result.stderr.rstrip().endswith("deploy] Error 4")
