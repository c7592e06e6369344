"""Prisma Studio on the current environment's database: loopback only, read-only outside development.

Studio is Prisma CLI 6.19's `prisma studio` with the project's pg driver adapter
and the WebAssembly query engine (engine/prisma-cli/studio.mjs explains how).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from acams_db import contract
from acams_db.errors import SIGNAL_EXIT_BASE, RefusedError, ToolchainError
from acams_db.runtime.database import Database, resolve
from acams_db.runtime.prisma_cli import cli_entrypoint, node_executable, prisma_environment
from acams_db.settings import (
    ENVIRONMENT_VARIABLE,
    STUDIO_ON_REQUEST,
    STUDIO_READ_ONLY,
    STUDIO_READ_WRITE,
    Settings,
    redact,
)

LOOPBACK = "127.0.0.1"
# Prisma Studio's own default range.
DEFAULT_PORTS = range(5555, 5601)
# Tells engine/prisma-cli/studio.mjs that this launcher applied the policy and holds Studio's stdin.
ACCESS_VARIABLE = contract.STUDIO_ACCESS_VARIABLE
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
# Prisma's start-up chatter; the address is printed by us instead.
_CHATTER = (
    "Loaded Prisma config from",
    "Prisma config detected, skipping environment variable loading",
    "Prisma schema loaded from",
    "Prisma Studio is up on",
)


@dataclass(frozen=True)
class StudioAccess:
    read_only: bool

    @property
    def label(self) -> str:
        return STUDIO_READ_ONLY if self.read_only else STUDIO_READ_WRITE


def studio_access(settings: Settings, *, allow_production: bool = False, read_only: bool = False) -> StudioAccess:
    """Decide how Studio may open the environment's database; refuse production unless explicitly allowed.

    Development opens read-write unless `read_only`; staging and an allowed production always open read-only.
    """
    allowed = settings.policy.studio_access
    if allowed == STUDIO_ON_REQUEST and not allow_production:
        raise RefusedError(
            f"Prisma Studio shows every row of the database and is refused in {settings.environment}. "
            f"To inspect {settings.environment} data read-only, run: "
            f"acams-db studio --env {settings.environment} --allow-production"
        )
    return StudioAccess(read_only=read_only or allowed != STUDIO_READ_WRITE)


def open_studio(
    settings: Settings,
    access: StudioAccess,
    *,
    port: int | None,
    open_browser: bool,
    connect: Callable[[Settings], Database],
    on_ready: Callable[[str], None],
) -> int:
    """`acams-db studio`: Studio on the environment's database, on `port` or the first free one, until it stops.

    Returns Studio's exit code (130 after Ctrl+C); `on_ready` receives the address once Studio answers.
    """
    database = connect(settings)
    return run_studio(settings, database, access, port=choose_port(port), open_browser=open_browser, on_ready=on_ready)


def bridge_document(settings: Settings, access: StudioAccess) -> dict[str, object]:
    """For `prisma studio` typed by hand (engine/prisma-cli/studio.mjs): the unredacted URL and the access."""
    database = resolve(settings)
    return {"url": database.url, "read_only": access.read_only, "environment": settings.environment}


def choose_port(requested: int | None) -> int:
    """`requested` if it is free on loopback, else the first free port of Prisma Studio's range."""
    candidates = [requested] if requested is not None else list(DEFAULT_PORTS)
    for port in candidates:
        if _port_is_free(port):
            return port
    if requested is not None:
        raise ToolchainError(f"Port {requested} on {LOOPBACK} is in use: choose another with --port.")
    raise ToolchainError(f"No free port between {DEFAULT_PORTS[0]} and {DEFAULT_PORTS[-1]}: choose one with --port.")


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def studio_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


def run_studio(
    settings: Settings,
    database: Database,
    access: StudioAccess,
    *,
    port: int,
    open_browser: bool,
    on_ready: Callable[[str], None],
) -> int:
    """Run Prisma Studio on 127.0.0.1:`port` until it stops or this process is interrupted; return its exit code.

    `on_ready` receives the address once Studio answers. Studio is stopped when this function returns, whatever
    the reason, and ends by itself if this process is killed.
    """
    environment = prisma_environment(settings, database)
    environment[ACCESS_VARIABLE] = access.label
    environment[ENVIRONMENT_VARIABLE] = settings.environment  # named on Studio's page when it is read-only
    command = [node_executable(), str(cli_entrypoint(settings.project_root)), "studio"]
    command += ["--hostname", LOOPBACK, "--port", str(port)]
    if not open_browser:
        command += ["--browser", "none"]
    with _stop_on_sigterm(), _running(command, settings, environment) as studio:
        try:
            _wait_until_listening(studio, port)
            on_ready(studio_url(port))
            return studio.wait()
        except KeyboardInterrupt:
            return SIGNAL_EXIT_BASE + signal.SIGINT


@contextmanager
def _running(command: list[str], settings: Settings, environment: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    # stdin stays open and unused: Studio exits when it closes (engine/prisma-cli/studio.mjs).
    studio = subprocess.Popen(
        command,
        cwd=settings.project_root,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert studio.stdout is not None
    relay = threading.Thread(target=_relay_output, args=(studio.stdout,), daemon=True)
    relay.start()
    try:
        yield studio
    finally:
        _stop(studio)
        relay.join(timeout=STOP_TIMEOUT_SECONDS)


def _relay_output(stream: IO[str]) -> None:
    """Pass Studio's output on to stderr without Prisma's start-up chatter."""
    for line in stream:
        if line.strip() and not line.strip().startswith(_CHATTER):
            sys.stderr.write(redact(line))


def _stop(studio: subprocess.Popen[str]) -> None:
    if studio.poll() is None:
        studio.terminate()
        try:
            studio.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            studio.kill()
            studio.wait()
    if studio.stdin is not None:
        studio.stdin.close()


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into an orderly exit, so that Studio is stopped too."""

    def exit_on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(SIGNAL_EXIT_BASE + signum)

    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait_until_listening(studio: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if studio.poll() is not None:
            raise ToolchainError(
                f"Prisma Studio stopped while starting (exit {studio.returncode}); see the message above."
            )
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise ToolchainError(f"Prisma Studio did not answer on {studio_url(port)} within {START_TIMEOUT_SECONDS:.0f} s.")
