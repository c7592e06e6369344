"""Who started acams-db: make (the Makefile sets ACAMS_VIA_MAKE=1) or a person typing acams-db.

Hints name what that caller types: `make reset force=1` after make, `--force` after acams-db.
"""

from __future__ import annotations

import os

VIA_MAKE_VARIABLE = "ACAMS_VIA_MAKE"


def via_make() -> bool:
    return os.environ.get(VIA_MAKE_VARIABLE) == "1"


def spelled(*, make: str, cli: str) -> str:
    """`make` when make started this command, else `cli`."""
    return make if via_make() else cli


def typed(command: str) -> str:
    """`command` (one without arguments, such as deploy or status) as this caller types it."""
    return spelled(make=f"make {command}", cli=f"acams-db {command}")
