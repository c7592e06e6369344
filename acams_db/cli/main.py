"""The `acams-db` program: run a command, turn an expected failure into one line and its exit code.

This module imports nothing heavy before its `try`: Ctrl-C (or SIGTERM, SIGHUP) while the command line is still
loading ends with the same one line and exit 128 + the signal's number as later.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
from types import FrameType

from acams_db.errors import ToolchainError
from acams_db.runtime.interrupts import Interrupted, Stopped

JSON_OPTION = "--json"  # every command's (cli/options.py JsonOption)


def main() -> None:
    # SIGTERM and SIGHUP end the command as Ctrl-C does (Python's default for them ends the process without a
    # word): the one line and 128 + the signal's number, also before a command installs its own handling.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)
    try:
        from acams_db.cli.app import app

        app()
    except KeyboardInterrupt:
        _fail(Interrupted(signal.SIGINT))
    except Stopped as stop:
        _fail(Interrupted(stop.signal_number))
    except ToolchainError as error:
        _fail(error)
    finally:
        # Whatever the command loaded (Prisma Client Python's generated types above all) is left out of the
        # interpreter's last collections at exit: a tenth of a second after a seed.
        gc.freeze()


def _interrupt(signal_number: int, frame: FrameType | None) -> None:
    raise Stopped(signal_number)


def _fail(error: ToolchainError) -> None:
    """The one line on stderr; with --json, also the one document on stdout that a script reads instead."""
    print(f"error: {error}", file=sys.stderr)
    if JSON_OPTION in sys.argv[1:]:
        print(json.dumps({"error": str(error), "exit_code": int(error.exit_code)}))
    sys.exit(error.exit_code)
