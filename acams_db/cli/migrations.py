"""Commands that change or apply the migration history: migrate, deploy, status, resolve, migrate-data, revert,
rollback."""

from __future__ import annotations

import functools
from typing import Annotated

import typer

from acams_db.cli import output
from acams_db.cli.options import EnvironmentOption, ForceOption, JsonOption, connect
from acams_db.migrations import data_migration, history, prisma_migrate
from acams_db.migrations.naming import check_descriptive_name
from acams_db.operations import deploy, migrate
from acams_db.settings import load_settings


def migrate_schema(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            # Checked before anything starts or changes.
            callback=check_descriptive_name,
            help="Descriptive lower snake_case name, e.g. add_user_timezone.",
        ),
    ],
    create_only: Annotated[
        bool, typer.Option("--create-only", help="Write the migration for review; do not apply it.")
    ] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a migration from schema.prisma's changes (YYYYMMDD_HHMMSS_name, UTC), apply it, regenerate the client."""
    settings = load_settings(environment)
    created = migrate.create_migration(settings, name, create_only=create_only, connect=connect)
    output.migration_created(settings, created, as_json)


def deploy_pending(
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Staging/production: deploy without the backup (logged).")
    ] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply pending migrations without prompting (CI and production); non-zero exit on any failure.

    A history that lint-migrations or status calls broken is refused first, with nothing applied (exit 4). In
    staging and production a backup is taken first (backups/<env>/) and the deploy aborts if it fails. Exit 1:
    a migration failed (rolled back); 5: a migration could not take its locks within MIGRATION_LOCK_TIMEOUT
    (nothing of it applied, the blocking sessions named: deploy again later); 130/143: interrupted by
    SIGINT/SIGTERM. Outside development a monitor reports progress on stderr (JSON events with --json).
    """
    settings = load_settings(environment)
    database = connect(settings)
    output.deployed(deploy.deploy(settings, database, skip_backup=no_backup, say=output.say, events=as_json), as_json)


def show_status(
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
    drift: Annotated[
        bool,
        typer.Option(help="Compare schema.prisma with the migrations too, on a shadow database (default: --drift)."),
    ] = True,
) -> None:
    """Show applied, pending, failed, modified and missing migrations and schema drift.

    Exit codes: 0 up to date, 10 failed, 11 modified after apply, 12 missing locally, 13 pending, 14 schema.prisma
    changed without a migration (the most serious wins).
    """
    settings = load_settings(environment)
    result = history.status(settings, connect(settings), check_schema_drift=drift)
    output.status(result, as_json)
    raise typer.Exit(int(result.code))


def resolve_failed(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The failed migration's folder name.")],
    resolution: Annotated[
        str, typer.Option("--as", metavar="rolled-back|applied", help="What happened to its changes.")
    ],
    environment: EnvironmentOption = None,
) -> None:
    """Mark a failed migration as rolled back or applied (Prisma's migrate resolve)."""
    settings = load_settings(environment)
    typer.echo(prisma_migrate.resolve(settings, connect(settings), name, resolution=resolution))


def migrate_data(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            callback=check_descriptive_name,
            help="Descriptive lower snake_case name, e.g. backfill_new_field.",
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Create an empty data-only migration YYYYMMDD_HHMMSS_NAME from a transaction template, to fill in.

    Writes the file only. Once filled in, apply it in development (make deploy), which records it in
    manifest.json, and commit both.
    """
    settings = load_settings(None)
    output.data_migration_created(settings, data_migration.create_data_migration(settings, name), as_json)


def revert_migration(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The migration to revert: its folder or its descriptive name.")
    ],
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a new migration <now>_revert_NAME holding the reverse SQL of migration NAME, for review.

    Production's way back ("create a new migration to fix issues"): nothing is applied. Data loss is flagged
    as in review. It only writes files, so it is allowed everywhere, but belongs on a developer machine; it
    replays the migrations on a shadow database of the environment's server (or SHADOW_DATABASE_URL).
    """
    from acams_db.operations import revert  # pglast: only for the commands that parse SQL

    settings = load_settings(environment)
    output.revert_created(settings, revert.revert(settings, connect(settings), name), as_json)


def rollback_last(
    force: ForceOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the down SQL; change nothing.")] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Development only: undo the last applied migration in the database; its folder stays for you to edit or delete.

    The down SQL is Prisma's diff from the applied migrations to the same without the last one. It is shown,
    then applied in one transaction with the migration marked rolled back.
    """
    from acams_db.operations import rollback  # pglast: only for the commands that parse SQL

    settings = load_settings(environment)
    done = rollback.roll_back(
        settings,
        dry_run=dry_run,
        connect=connect,
        show=(lambda _planned: None) if as_json else output.rollback_plan,
        confirm=None if force else functools.partial(output.confirm, "rollback", "rollback changes the database"),
    )
    output.rolled_back(settings, done, as_json)
