"""The one exception family the CLI turns into a message and an exit code."""

from __future__ import annotations


class ToolchainError(Exception):
    """An expected failure: bad input, a refused operation, a failed Prisma command.

    The CLI prints the message (no stack trace) and exits with `exit_code`.
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ToolchainError):
    """The command line asked for something that does not exist (an unknown environment, a bad value)."""

    exit_code = 2


class SetupMissingError(ToolchainError):
    """A part of the installation is missing; the message says what to run."""

    exit_code = 3


class RefusedError(ToolchainError):
    """An operation the current environment does not allow; the message says what to run instead."""

    exit_code = 4
