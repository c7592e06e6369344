"""What commands share: the --env, --json and --force options, and the database every command says it acts on."""

from __future__ import annotations

from typing import Annotated

import typer

from acams_db.cli import output
from acams_db.cli.main import JSON_OPTION
from acams_db.runtime import database
from acams_db.runtime.database import Database
from acams_db.settings import ENVIRONMENTS, Settings

EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="ENV",
        help=f"{', '.join(ENVIRONMENTS)} (default: the ACAMS_ENV variable, else ACAMS_ENV in .env, else development).",
    ),
]
JsonOption = Annotated[bool, typer.Option(JSON_OPTION, help="Print one JSON document on stdout for scripts.")]
# For the commands that ask before changing data (output.confirm).
ForceOption = Annotated[bool, typer.Option("--force", help="Do not ask for confirmation (scripts).")]


def connect(settings: Settings) -> Database:
    """The environment's database (the embedded server started if it is the one), said on stderr."""
    found = database.resolve(settings)
    output.acting_on(settings, found)
    return found
