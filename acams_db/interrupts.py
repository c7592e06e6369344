"""SIGINT, SIGTERM and SIGHUP as an exception, so that a command can undo what it started and say so.

Inside `signals_interrupt()` the first of these signals raises `Interrupted` (exit
code 128 + the signal's number) where the command is; later ones are ignored
while it unwinds, so that its clean-up is not cut short. Inside `deferred()` a
signal is only noted: a step that must not stop halfway (waiting for a COMMIT's
outcome) finishes, and the command ends normally. SIGKILL cannot be caught:
children die with the command (`processes.py`) and the next run cleans up.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from acams_db.errors import ToolchainError

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(ToolchainError):
    """The command was stopped by a signal; the message says what was undone."""

    def __init__(self, signal_number: int, message: str | None = None) -> None:
        self.signal_name = signal.Signals(signal_number).name
        self.signal_number = signal_number
        super().__init__(message or f"Interrupted by {self.signal_name}.", exit_code=128 + signal_number)


class _State:
    received: int | None = None
    deferring = False


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise `Interrupted` once."""

    def handle(signal_number: int, frame: FrameType | None) -> None:
        if _State.received is not None or _State.deferring:
            _State.received = _State.received or signal_number
            return
        _State.received = signal_number
        raise Interrupted(signal_number)

    previous = {number: signal.signal(number, handle) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _State.received = None


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, a signal does not interrupt: the block runs to its end."""
    _State.deferring = True
    try:
        yield
    finally:
        _State.deferring = False
