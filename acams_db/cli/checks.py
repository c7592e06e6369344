"""Commands that read and judge, changing nothing: review, lint-migrations, preflight.

They are built on pglast, which takes a tenth of a second to load: they import it when they run, so that
other commands do not pay for it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from acams_db.cli import output
from acams_db.cli.options import EnvironmentOption, JsonOption, connect
from acams_db.errors import ExitCode
from acams_db.settings import load_settings


def review_migrations(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAMES", help="Migration folders to review (default: every pending one)."),
    ] = None,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print each pending migration's SQL with warnings for risky statements and the rows they affect there.

    Warns about dropped tables, columns, types and indexes, required columns without a default, type changes,
    new unique constraints, renames, and statements holding long locks (CREATE INDEX without CONCURRENTLY…).
    Reads the database, changes nothing; exit 0 whatever it finds.
    """
    from acams_db.migrations import review

    settings = load_settings(environment)
    database = connect(settings)
    found = review.review_migrations(settings, database, names) if names else review.review_pending(settings, database)
    output.reviews(found, as_json)


def lint_migrations(as_json: JsonOption = False) -> None:
    """Check prisma_migrations/ against the migration rules; needs no database. Exit 1 on any error.

    Rules: folders named YYYYMMDD_HHMMSS_name, in order, not in the future; never edited or deleted after being
    recorded in manifest.json; no schema and data changes in one migration; destructive statements documented
    with a `-- breaking:` note. One line per finding: file:line: rule: message.
    """
    from acams_db.migrations import lint

    findings = lint.lint_migrations(load_settings(None).migrations_dir)
    failed = lint.errors(findings)
    output.lint_findings(findings, failed, as_json)
    raise typer.Exit(ExitCode.ERROR if failed else ExitCode.OK)


def run_preflight(
    environment: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="ENV",
            help="The environment about to be deployed (default: ACAMS_ENV, in the variable or in .env; else "
            "production).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The deployment checklist: each item passed, failed or needs a person. Exit 1 when any failed.

    Schema valid and formatted, migration lint, the question bank, the database's state, pending migrations with
    their review warnings, applied on staging first, a backup, a maintenance window, the seed after a Question
    change, monitoring. Reads only.
    """
    from acams_db.operations import preflight

    settings = preflight.settings_to_deploy(environment)
    output.say(f"environment: {settings.environment}")
    checks = preflight.preflight(settings)
    ready = not preflight.failed(checks)
    output.preflight(checks, ready, as_json)
    if not ready:
        raise typer.Exit(ExitCode.ERROR)
