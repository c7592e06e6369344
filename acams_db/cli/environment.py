"""Commands for the environment's parts: the generated client, the embedded server, the database, Prisma Studio."""

from __future__ import annotations

from typing import Annotated

import typer

from acams_db.cli import output
from acams_db.cli.options import EnvironmentOption, JsonOption, connect
from acams_db.operations import generate, studio
from acams_db.runtime import database, embedded
from acams_db.settings import load_settings


def generate_client(
    force: Annotated[bool, typer.Option("--force", help="Generate even if nothing changed.")] = False,
) -> None:
    """Generate Prisma Client Python from schema.prisma, unless the client installed was generated from it as it is."""
    output.client_generated(generate.generate(load_settings(None), force=force))


def stop_embedded() -> None:
    """Stop the embedded PostgreSQL server of this project."""
    output.embedded_stopped(embedded.stop(load_settings(None).project_root))


def show_database(environment: EnvironmentOption = None, as_json: JsonOption = False) -> None:
    """Show the environment and its database (password redacted), starting the embedded server if needed."""
    settings = load_settings(environment)
    output.database(settings, connect(settings), as_json)


def open_studio(
    port: Annotated[
        int | None,
        typer.Option("--port", metavar="PORT", help="Port on 127.0.0.1 (default: the first free from 5555)."),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Open read-only in development too (always so elsewhere).")
    ] = False,
    allow_production: Annotated[
        bool, typer.Option("--allow-production", help="Allow production (opens read-only).")
    ] = False,
    open_browser: Annotated[bool, typer.Option("--open", help="Open Studio in the default browser.")] = False,
    internal_access: Annotated[bool, typer.Option("--internal-access", hidden=True)] = False,
    environment: EnvironmentOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the address as one JSON line once Studio answers.")
    ] = False,
) -> None:
    """Open Prisma Studio on the environment's database, on 127.0.0.1 only; runs until Ctrl+C.

    Read-write in development, read-only in staging; refused in production unless --allow-production (read-only).
    """
    settings = load_settings(environment)
    access = studio.studio_access(settings, allow_production=allow_production, read_only=read_only)
    if internal_access:  # engine/prisma-cli/studio.mjs, for `prisma studio` typed by hand: the URL and access on a pipe
        output.require_pipe("--internal-access")
        output.one_json_line(studio.bridge_document(settings, access))
        return
    on_ready = output.studio_ready(access, as_json)
    raise typer.Exit(
        studio.open_studio(settings, access, port=port, open_browser=open_browser, connect=connect, on_ready=on_ready)
    )


def internal_database_url(environment: EnvironmentOption = None) -> None:
    """For engine/lib/project.mjs only: the unredacted URLs as JSON on a pipe."""
    output.require_pipe("internal-database-url")
    found = database.resolve(load_settings(environment))
    output.one_json_line({"url": found.url, "shadow_url": found.shadow_url})
