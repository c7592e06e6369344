"""Child processes that never outlive the command that started them.

Linux sends a child the signal chosen with PR_SET_PDEATHSIG when its parent
ends, however it ends (SIGKILL included), which no handler in the parent can
promise. Give `subprocess.Popen`/`run` `preexec_fn=dies_with_this_process()`,
or call `die_with_parent(parent_pid)` first thing in a child made by `os.fork`.

The signal follows the *thread* that started the child: start children from the
thread that waits for them.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
# Resolved here, in the parent: a forked child should call as little as possible before exec.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def die_with_parent(parent_pid: int) -> None:
    """In a new child of `parent_pid`: be killed when it ends; if it already has, exit now."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent ended before the request took effect
        os._exit(1)


def dies_with_this_process() -> Callable[[], None]:
    """A `preexec_fn` that ties the child to the calling process."""
    return functools.partial(die_with_parent, os.getpid())
