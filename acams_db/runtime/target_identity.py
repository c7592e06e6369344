"""Whether two database URLs reach the same target: one server, one database, one schema.

The servers are asked, so that every spelling of one target is the same target (127.0.0.1, 127.1,
localhost, the machine's name, a unix socket, another user): one psql per URL, run side by side, reads
the server's system identifier (`pg_control_system()`, readable by every role unless an administrator
revoked it; else the server's start time, to the microsecond), `current_database()`, and compares the
schemas as Prisma uses them (the `schema` parameter, exactly: Prisma quotes it).

When a server cannot be asked (unreachable within PROBE_TIMEOUT seconds, login refused), the addresses are
compared instead, leaning towards "same": the same machine (a shared resolved address; loopback addresses,
this machine's own addresses and unix sockets are all this machine), the same port, database and schema.
"""

from __future__ import annotations

import functools
import getpass
import ipaddress
import socket
import subprocess
from dataclasses import dataclass

from acams_db import database_url
from acams_db.database_url import DatabaseUrl
from acams_db.runtime import pg_tools
from acams_db.runtime.processes import dies_with_this_process

PROBE_TIMEOUT = 3  # seconds to connect (libpq's minimum is 2)
_FIELD_SEPARATOR = "\x1f"
# One connection; pg_control_system() only when this role may run it (psql's \if, as a failed call would end it).
_PROBE = """
SELECT has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') AS readable \\gset
\\if :readable
SELECT system_identifier FROM pg_control_system() \\gset
\\else
\\set system_identifier ''
\\endif
SELECT :'system_identifier', pg_postmaster_start_time(), current_database();
"""
THIS_MACHINE = "this machine"


@dataclass(frozen=True)
class ServerAnswer:
    system_identifier: str  # "" when this role may not read it
    started: str
    database: str

    def same_server(self, other: ServerAnswer) -> bool:
        if self.system_identifier and other.system_identifier:
            return self.system_identifier == other.system_identifier
        return self.started == other.started


@dataclass(frozen=True)
class Comparison:
    same: bool
    # Why they are one target, for the refusal: "the same server (system identifier 7713…), database acams and …"
    evidence: str


def compare(first: str, second: str) -> Comparison:
    """Whether database URLs `first` and `second` reach the same server, database and schema."""
    urls = (database_url.parse(first), database_url.parse(second))
    schema = urls[0].schema
    if schema != urls[1].schema:
        return Comparison(False, f"the schemas {schema!r} and {urls[1].schema!r}")
    answers = ask_servers([first, second])
    if answers[0] is not None and answers[1] is not None:
        mine, theirs = answers[0], answers[1]
        server = f"system identifier {mine.system_identifier}" if mine.system_identifier else f"started {mine.started}"
        same = mine.database == theirs.database and mine.same_server(theirs)
        return Comparison(same, f"the same server ({server}), database {mine.database} and schema {schema}")
    machines = (_machine(urls[0]), _machine(urls[1]))
    same = bool(machines[0] & machines[1]) and _address(urls[0]) == _address(urls[1])
    port, database = _address(urls[0])
    return Comparison(
        same,
        f"the same machine, port {port}, database {database} and schema {schema} (a server could not be "
        "asked, so their addresses were compared)",
    )


def ask_servers(urls: list[str]) -> list[ServerAnswer | None]:
    """Each URL's server identity, asked side by side; None for a server that cannot be asked."""
    processes = []
    for url in urls:
        environment = {**pg_tools.libpq_environment(url), "PGCONNECT_TIMEOUT": str(PROBE_TIMEOUT)}
        processes.append(
            subprocess.Popen(
                [
                    str(pg_tools.executable("psql")),
                    "-X",
                    "-A",
                    "-t",
                    "-q",
                    "-F",
                    _FIELD_SEPARATOR,
                    "-v",
                    "ON_ERROR_STOP=1",
                ],
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                preexec_fn=dies_with_this_process(),
            )
        )
    return [_answer(process) for process in processes]


def _answer(process: subprocess.Popen[str]) -> ServerAnswer | None:
    try:
        output, _ = process.communicate(_PROBE, timeout=PROBE_TIMEOUT * 3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    fields = output.rstrip("\n").split(_FIELD_SEPARATOR)
    if process.returncode != 0 or len(fields) != 3:
        return None
    return ServerAnswer(*fields)


def _address(url: DatabaseUrl) -> tuple[int, str]:
    """Port and database; libpq and node-postgres take the user's name for a URL without a database."""
    return url.server_port, url.database or url.user or getpass.getuser()


def _machine(url: DatabaseUrl) -> frozenset[str]:
    """The addresses `url`'s host resolves to, THIS_MACHINE for every local one; the name itself if unresolvable."""
    host = url.server_host
    if host.startswith("/"):
        return frozenset({THIS_MACHINE})
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(host, url.server_port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return frozenset({host.lower()})
    return frozenset(THIS_MACHINE if _is_local(address) else address for address in found)


def _is_local(address: str) -> bool:
    return ipaddress.ip_address(address.split("%")[0]).is_loopback or address in _own_addresses()


@functools.cache
def _own_addresses() -> frozenset[str]:
    try:
        return frozenset(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None))
    except OSError:
        return frozenset()
