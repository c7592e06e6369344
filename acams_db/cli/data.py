"""Commands for the database's contents: setup, reset, seed, backup, backups, restore."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from acams_db.cli import output
from acams_db.cli.options import EnvironmentOption, ForceOption, JsonOption, connect
from acams_db.operations import backups, restore, seed, setup
from acams_db.settings import load_settings


def setup_development(environment: EnvironmentOption = None, as_json: JsonOption = False) -> None:
    """The one-command set-up of development: apply pending migrations, generate the client, seed the questions."""
    settings = load_settings(environment)
    with output.TerminalProgress() as progress:
        done = setup.set_up(settings, connect=connect, progress=progress)
    output.set_up(done, as_json)


def reset_development(
    force: ForceOption = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the question bank afterwards.")] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Drop every table, apply all migrations again and seed the question bank. Deletes all data. Development only."""
    settings = load_settings(environment)
    confirm = None if force else functools.partial(output.confirm, "reset", "reset deletes all data")
    with output.TerminalProgress() as progress:
        done = setup.reset(settings, seed=not no_seed, connect=connect, confirm=confirm, progress=progress)
    output.reset(done, as_json)


def seed_from_file(
    file: Annotated[
        Path, typer.Option("--file", metavar="FILE", help="The question bank (default: data/questions.json).")
    ] = seed.DEFAULT_BANK,
    prune: Annotated[bool, typer.Option("--prune", help="Deactivate questions that are not in the file.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upsert the question bank by question id, in one transaction: new questions created, changed ones updated.

    The whole file is validated first; an invalid file changes nothing. Unchanged questions are not written.
    """
    settings = load_settings(environment)
    with output.TerminalProgress() as progress:
        report = seed.seed_bank(settings, file, prune=prune, dry_run=dry_run, connect=connect, progress=progress)
    output.seeded(report, as_json)


def take_backup(
    label: Annotated[
        str, typer.Option("--label", metavar="WORD", help="A word saying why, e.g. before_import (default: manual).")
    ] = backups.MANUAL,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dump the database (pg_dump custom format) to backups/<env>/ with its size and SHA-256; keep BACKUP_KEEP."""
    settings = load_settings(environment)
    output.backup_written(backups.back_up(settings, label, connect=connect, say=output.say), as_json)


def list_backups(environment: EnvironmentOption = None, as_json: JsonOption = False) -> None:
    """List the environment's backups, newest first, and one line for each other file there. Reads files only."""
    settings = load_settings(environment)
    output.backup_list(backups.inventory(settings), backups.folder(settings), as_json)


def restore_backup(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="The .dump archive, e.g. backups/staging/20261124_101500_manual.dump."),
    ],
    force: ForceOption = False,
    allow_production: Annotated[
        bool, typer.Option("--allow-production", help="Production: required, with --database.")
    ] = False,
    confirm_database: Annotated[
        str | None,
        typer.Option("--database", metavar="NAME", help="Production: the target database's name, typed out."),
    ] = None,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the database's schema and data by a backup, in one transaction. Deletes what changed since.

    The archive is checked first (metadata, size, SHA-256, schema). Outside development, the current state is
    backed up first. Production needs --allow-production and --database NAME. Stopped by any signal before it
    commits, it leaves the database as it was.
    """
    settings = load_settings(environment)
    done = restore.restore(
        settings,
        file,
        connect=connect,
        consent=restore.Consent(force, allow_production, confirm_database),
        confirm=functools.partial(output.confirm, "restore", "restore replaces all data"),
        say=output.say,
    )
    output.restored(file, done, as_json)
