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
# What those targets need besides the flag (a missing one stops make first).
REQUIRED = {"migrate": ["name=add_user_timezone"], "restore": ["file=backups/development/x.dump"]}
ON = ["1", "true", "yes", "TRUE", "Yes"]
OFF = ["0", "false", "no", "", "FALSE", "No"]
BAD = ["maybe", "2", "on", "%", "yes no"]


def make(project: Project, *arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run make in the project copy, with the repository's installed environment and the shell's `variables`."""
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={REPOSITORY / '.venv'}", *arguments],
        cwd=project.root,
        # Not the outer make's flags, under make test.
        env=project.environment(MAKEFLAGS=None, MFLAGS=None, MAKELEVEL=None, **variables),
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
        assert (
            option
            in command_of(make(project, "-n", target, *REQUIRED.get(target, []), f"{variable}={value}"), target).split()
        ), value


@pytest.mark.parametrize(("target", "variable", "option"), FLAGS)
def test_no_values_and_empty_leave_a_flag_off(project: Project, target: str, variable: str, option: str) -> None:
    for value in OFF:
        assert (
            option
            not in command_of(
                make(project, "-n", target, *REQUIRED.get(target, []), f"{variable}={value}"), target
            ).split()
        ), value
    assert option not in command_of(make(project, "-n", target, *REQUIRED.get(target, [])), target).split()


@pytest.mark.parametrize(("target", "variable", "option"), FLAGS)
def test_any_other_value_is_a_usage_error_naming_the_variable(
    project: Project, target: str, variable: str, option: str
) -> None:
    for value in BAD:
        result = make(project, "-n", target, *REQUIRED.get(target, []), f"{variable}={value}")
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


def test_env_and_acams_env_choose_the_environment_of_every_target_and_env_wins(project: Project) -> None:
    """`make status env=staging` ran against development; env= now reaches acams-db as ACAMS_ENV, over the shell's."""
    staging = make(project, "database", "env=staging")
    assert staging.returncode == 0, staging.stderr
    assert "environment: staging" in staging.stderr
    from_shell = make(project, "database", ACAMS_ENV="staging")
    assert "environment: staging" in from_shell.stderr
    env_wins = make(project, "database", "env=staging", ACAMS_ENV="production")
    assert "environment: staging" in env_wins.stderr
    assert "environment: development" in make(project, "database").stderr


def test_preflight_checks_the_environment_named_else_production(project: Project) -> None:
    """`ACAMS_ENV=staging make preflight` checked production: the Makefile passed --env production."""
    assert "environment: staging" in make(project, "preflight", ACAMS_ENV="staging").stderr
    assert "environment: production" in make(project, "preflight").stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["migrate"], "name= is needed, e.g. make migrate name=add_user_timezone"),
        (["migrate", "name= "], "name= is needed, e.g. make migrate name=add_user_timezone"),
        (["resolve"], "name= is needed, e.g. make resolve name=20261124_101500_add_user_timezone"),
        (["resolve", "name=20261124_101500_x"], "as= is needed, e.g. make resolve as=rolled-back (or as=applied)"),
        (["restore"], "file= is needed, e.g. make restore file=backups/development/"),
        (["migrate-data"], "name= is needed, e.g. make migrate-data name=backfill_new_field"),
        (["revert"], "name= is needed, e.g. make revert name=add_user_timezone"),
    ],
)
def test_a_missing_variable_is_named_before_the_command_runs(
    project: Project, arguments: list[str], expected: str
) -> None:
    """`make migrate` said "Invalid migration name ''", which does not mention name=."""
    result = make(project, *arguments)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "acams-db" not in result.stdout


def test_hints_after_make_name_make_variables(project: Project) -> None:
    """resolve said "as must be ..." and rollback "pass --force" to someone who typed as= and force=1."""
    resolved = make(project, "resolve", "name=20261124_101500_x", "as=maybe")
    assert "error: as= must be rolled-back or applied, not 'maybe'." in resolved.stderr
    assert resolved.stderr.rstrip().endswith("resolve] Error 2")
    assert make(project, "deploy").returncode == 0
    for target in ("reset", "rollback"):
        refused = make(project, target)  # stdin is not a terminal
        assert f"add force=1 (make {target} ... force=1)" in refused.stderr, refused.stderr
        assert "--force" not in refused.stderr


# Values as a person might type them, with the shell's and make's own syntax inside.
LITERAL_VALUES = ['x"; touch {canary}; echo "', "it's $(touch {canary}) `touch {canary}`", "a b; $HOME"]


@pytest.mark.parametrize("typed", LITERAL_VALUES)
def test_values_reach_acams_db_as_typed_and_never_run(project: Project, typed: str) -> None:
    canary = project.root / "canary"
    value = typed.format(canary=canary)
    result = make(project, "migrate", f"name={value}")
    assert not canary.exists()
    assert result.returncode == 2
    # acams-db read the name whole (its message quotes it) and refused it.
    assert f"Invalid migration name {value!r}" in result.stderr


def test_make_help_lists_every_target_of_the_readme(project: Project) -> None:
    result = make(project, "help")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("  make ")]
    assert {"setup", "migrate", "deploy", "status", "restore", "preflight", "help"} <= set(listed)
