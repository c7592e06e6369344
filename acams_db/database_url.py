"""PostgreSQL database URLs: read the way Prisma and node-postgres read them, written so every tool agrees.

Reading. The text after `://` up to its first `/`, `?` or `#` is the authority, and the credentials end at
its last `@` (the WHATWG URL rule of Prisma's `url` crate and of node-postgres' pg-connection-string): a
password may hold a raw `@` or `:`. A raw `/`, `?` or `#` in a password ends the authority early, so those
tools misread it; when that standard reading is not a valid URL, the credentials end instead at the first `@`
followed by a valid host. A URL that neither reading accepts is refused with a message that quotes no part
of it. Parameters `user`, `password` and `port` win over the URL's parts (node-postgres and libpq); `host`
wins too (Prisma, node-postgres and libpq alike): a unix-socket folder.

Writing. `canonical()` percent-encodes every part, so that Prisma, node-postgres and libpq (psql, pg_dump)
read the same user, password, host, port, database and schema from it: the toolchain hands only canonical
URLs to tools. `redacted()` is the canonical URL without its password, for output and logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote

from acams_db.errors import ToolchainError

SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
DEFAULT_SCHEMA = "public"
MASK = "***"
# node-postgres reads the database name with JavaScript's decodeURI, which leaves these escaped.
_UNSUPPORTED_IN_DATABASE_NAME = ";/?:@&=+$,#"
# Prisma URL parameters that libpq understands, and the variable that carries each.
_LIBPQ_PARAMETERS = {
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
}
# Parameters that carry a secret; `password` never stays a parameter (it moves into the credentials).
SECRET_PARAMETERS = ("password", "sslpassword")
_ENCODING_ADVICE = (
    "percent-encode the password's special characters (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23, "
    "% as %25, a space as %20)"
)


class DatabaseUrlError(ToolchainError):
    """A database URL that cannot be read; the message quotes no part of it."""


@dataclass(frozen=True)
class DatabaseUrl:
    scheme: str
    user: str | None
    password: str | None
    host: str  # as written, without IPv6 brackets; "" when the URL names none
    port: int | None
    database: str | None
    parameters: tuple[tuple[str, str], ...]  # decoded, each name once (the last one written wins)

    def parameter(self, name: str) -> str | None:
        return dict(self.parameters).get(name)

    @property
    def schema(self) -> str:
        """The schema Prisma uses: the `schema` parameter, exactly (Prisma quotes it), default public."""
        return self.parameter("schema") or DEFAULT_SCHEMA

    @property
    def server_host(self) -> str:
        """The host every tool connects to: the `host` parameter (a socket folder) wins, else localhost."""
        return self.parameter("host") or self.host or "localhost"

    @property
    def server_port(self) -> int:
        return self.port or DEFAULT_PORT

    def with_libpq_defaults(self, environment: Mapping[str, str]) -> DatabaseUrl:
        """This URL with the parts it leaves out taken from `environment`'s PG* variables, written into it.

        node-postgres and libpq fill a URL's missing host, port, user, password, database and SSL settings from
        PGHOST, PGPORT, … (Prisma's own driver here is node-postgres): a URL read without them names another
        target than the one those tools reach, and the guardrails would check the wrong one. Folded in once, the
        variables are removed from every child process (pg_tools.libpq_environment, engine/lib/pg-adapter.mjs),
        so that no tool reads them again.
        """
        parameters = dict(self.parameters)
        host, port = self.host, self.port
        if not host and "host" not in parameters and environment.get("PGHOST"):
            pghost = environment["PGHOST"]
            if pghost.startswith("/"):
                parameters["host"] = pghost
            else:
                host = pghost.strip("[]")
        if port is None and environment.get("PGPORT"):
            text = environment["PGPORT"]
            if not (text.isdigit() and 0 < int(text) <= 65535):
                raise DatabaseUrlError(f"PGPORT must be a port number up to 65535; got {text!r}.")
            port = int(text)
        for name, variable in _LIBPQ_PARAMETERS.items():
            if name not in parameters and environment.get(variable):
                parameters[name] = environment[variable]
        return replace(
            self,
            host=host,
            port=port,
            user=self.user if self.user is not None else environment.get("PGUSER") or None,
            password=self.password if self.password is not None else environment.get("PGPASSWORD") or None,
            database=self.database or environment.get("PGDATABASE") or None,
            parameters=tuple(parameters.items()),
        )

    def canonical(self) -> str:
        return self._written(hide_secrets=False)

    def redacted(self) -> str:
        return self._written(hide_secrets=True)

    def libpq_variables(self) -> dict[str, str]:
        """The PG* variables that make psql, pg_dump and pg_restore reach this URL's target."""
        variables = {"PGHOST": self.server_host}
        if self.port is not None:
            variables["PGPORT"] = str(self.port)
        if self.user:
            variables["PGUSER"] = self.user
        if self.password:
            variables["PGPASSWORD"] = self.password
        if self.database:
            variables["PGDATABASE"] = self.database
        for name, value in self.parameters:
            if name in _LIBPQ_PARAMETERS:
                variables[_LIBPQ_PARAMETERS[name]] = value
        return variables

    def _written(self, *, hide_secrets: bool) -> str:
        def shown(value: str) -> str:
            return MASK if hide_secrets and value else _encode(value)

        credentials = ""
        if self.password is not None:
            credentials = f"{_encode(self.user or '')}:{shown(self.password)}@"
        elif self.user is not None:
            credentials = f"{_encode(self.user)}@"
        # Without a `host` parameter (a socket folder, which wins for every tool), no host means localhost;
        # node-postgres cannot read an empty host followed by a port.
        host = f"[{self.host}]" if ":" in self.host else self.host
        if not host and (self.port is not None or not self.parameter("host")):
            host = "localhost"
        port = f":{self.port}" if self.port is not None else ""
        path = f"/{_encode(self.database)}" if self.database else "/"
        parameters = self.parameters
        if ":" in self.host and not self.parameter("host"):
            # pg-connection-string 2.9 keeps an IPv6 literal's brackets, and node-postgres cannot connect to
            # "[::1]" (fixed upstream in brianc/node-postgres#3698): the parameter, which wins, has none.
            parameters = (*parameters, ("host", self.host))
        query = "&".join(
            f"{_encode(name)}={shown(value) if name in SECRET_PARAMETERS else _encode(value)}"
            for name, value in parameters
        )
        return f"{self.scheme}://{credentials}{_encode(host, safe='[]:')}{port}{path}" + (f"?{query}" if query else "")


def parse(text: str, *, name: str = "The database URL") -> DatabaseUrl:
    """Read `text` as a PostgreSQL URL; `name` says where it came from in the error (which quotes none of it)."""
    scheme, separator, rest = text.strip().partition("://")
    if not separator or scheme.lower() not in SCHEMES:
        typed = f" (it starts with {scheme}://)" if separator and re.fullmatch(r"[a-zA-Z][\w+.-]*", scheme) else ""
        raise DatabaseUrlError(f"{name} must be a PostgreSQL URL, starting with postgresql:// or postgres://{typed}.")
    reading = _valid_reading(rest)
    if reading is None:
        raise DatabaseUrlError(
            f"{name} cannot be read: {_standard_reading(rest)}. If it holds a password, {_ENCODING_ADVICE}."
        )
    try:
        return _with_parameter_overrides(scheme.lower(), reading)
    except _Unreadable as error:
        raise DatabaseUrlError(f"{name} cannot be read: {error}.") from None


class _Unreadable(Exception):
    """Why a URL's part cannot be read, in words that quote none of it."""


def _valid_reading(rest: str) -> _Reading | None:
    reading = _standard_reading(rest)
    return _extended_reading(rest) if isinstance(reading, str) else reading


@dataclass(frozen=True)
class _Reading:
    at: int  # index of the `@` ending the credentials, -1 when none
    userinfo: str
    host: str
    port: str
    path: str | None
    query: str | None


def _standard_reading(rest: str) -> _Reading | str:
    """The reading of Prisma and node-postgres, or why it is not a valid URL."""
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return _reading(rest, rest.rfind("@", 0, authority_end))


def _extended_reading(rest: str) -> _Reading | None:
    """For a password holding a raw `/`, `?` or `#`: credentials end at the first `@` followed by a valid host."""
    for at in (i for i, c in enumerate(rest) if c == "@"):
        reading = _reading(rest, at)
        user, colon, _ = rest[:at].partition(":")
        if not isinstance(reading, str) and colon and not any(c in user for c in "/?#"):
            return reading
    return None


_HOST = re.compile(r"\[(?P<ipv6>[0-9A-Fa-f:.]+(?:%25[\w.~-]+)?)\]|(?P<name>[\w.~%!$'()*+;=-]*)")


def _reading(rest: str, at: int) -> _Reading | str:
    after = rest[at + 1 :]
    if "#" in after:
        return "it holds a # after the host (a URL fragment)"
    authority_end = min((i for i in (after.find(c) for c in "/?") if i >= 0), default=len(after))
    authority, after_authority = after[:authority_end], after[authority_end:]
    if "@" in authority:
        return "its host holds an @"
    if "," in authority:
        return "it names several hosts, which Prisma and node-postgres do not support"
    host = _HOST.match(authority)
    port = authority[host.end() :] if host else authority
    if host is None or (port and not re.fullmatch(r":\d{1,5}", port)) or (port and int(port[1:]) > 65535):
        return "its host or port is not valid (the port must be a number up to 65535)"
    path, _, query = after_authority.partition("?")
    if "@" in path:
        return "it holds an @ after the host (in the database name)"
    return _Reading(
        at,
        rest[:at] if at >= 0 else "",
        host["ipv6"] or host["name"] or "",
        port[1:],
        path[1:] if path else None,
        query if "?" in after_authority else None,
    )


def _with_parameter_overrides(scheme: str, reading: _Reading) -> DatabaseUrl:
    user: str | None = None
    password: str | None = None
    if reading.at >= 0:
        raw_user, colon, raw_password = reading.userinfo.partition(":")
        user = _decode(raw_user, "user name")
        password = _decode(raw_password, "password") if colon else None
    parameters: dict[str, str] = {}
    for pair in (reading.query or "").split("&"):
        if pair:
            key, _, value = pair.partition("=")
            parameters[_decode(key, "parameter", plus=True)] = _decode(value, "parameter", plus=True)
    # node-postgres and libpq let these parameters win over the URL's parts; Prisma ignores them.
    user = parameters.pop("user", user)
    password = parameters.pop("password", password)
    port = parameters.pop("port", reading.port)
    if port and not (port.isdigit() and 0 < int(port) <= 65535):
        raise _Unreadable("its port parameter is not a number up to 65535")
    host = _decode(reading.host, "host")
    if host.startswith("/") and "host" not in parameters:  # a percent-encoded socket folder as the host
        parameters["host"], host = host, ""
    if parameters.get("schema") == "":
        del parameters["schema"]  # an empty schema means the default for Prisma; say so once for every tool
    database = _decode(reading.path, "database name") if reading.path else None
    if database and any(c in database for c in _UNSUPPORTED_IN_DATABASE_NAME):
        raise _Unreadable(
            f"its database name holds one of {_UNSUPPORTED_IN_DATABASE_NAME}, which node-postgres (Prisma's "
            "driver here) and libpq read differently: choose a database name without them"
        )
    return DatabaseUrl(scheme, user, password, host, int(port) if port else None, database, tuple(parameters.items()))


def _decode(text: str, what: str, *, plus: bool = False) -> str:
    """Percent-decode `text`; a `%` not followed by two hex digits stays a `%` (as Prisma reads it)."""
    if plus:
        text = text.replace("+", " ")  # form encoding in parameters: Prisma and node-postgres read + as a space
    decoded = bytearray()
    index = 0
    while index < len(text):
        escape = text[index + 1 : index + 3]
        if text[index] == "%" and len(escape) == 2 and all(c in "0123456789abcdefABCDEF" for c in escape):
            decoded.append(int(escape, 16))
            index += 3
        else:
            decoded += text[index].encode()
            index += 1
    try:
        return decoded.decode()
    except UnicodeDecodeError:
        raise _Unreadable(f"its {what} is not UTF-8 once percent-decoded") from None


def _encode(text: str, safe: str = "") -> str:
    return quote(text, safe=safe)


_URL_START = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_URL_TEXT = re.compile(r"[^\s'\"<>`]*")
# key=value or key: value settings carrying a secret (URL parameters, libpq strings, tool messages, JSON).
_SECRET_SETTING = re.compile(
    r"(?P<key>\b(?:[a-z_]*password|passwd|pwd)\b[\"']?[ \t]*[=:][ \t]*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,'\"]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every password replaced by `***`: URL credentials (read as above, also when a raw space
    splits the password), password parameters, and settings such as `PGPASSWORD=…`, `sslpassword=…` or
    `"password": "…"` in tool messages."""
    pieces = []
    position = 0
    for start in _URL_START.finditer(text):
        if start.start() < position:
            continue  # inside the URL just redacted
        line_end = text.find("\n", start.end())
        line = text[start.end() : len(text) if line_end < 0 else line_end]
        url_text = _URL_TEXT.match(line)[0]  # type: ignore[index]  # the pattern matches the empty string
        reading = _valid_reading(url_text)
        at, end = (reading.at, len(url_text)) if reading else _credentials_across_spaces(line, len(url_text))
        pieces += [text[position : start.end()], _masked(line[:end], at)]
        position = start.end() + end
    pieces.append(text[position:])
    return _SECRET_SETTING.sub(lambda m: f"{m['key']}{MASK}", "".join(pieces))


def _credentials_across_spaces(line: str, first_word: int) -> tuple[int, int]:
    """For a URL whose first word is no URL: the first later `@` followed by a valid host ends its credentials.

    Returns that `@`'s index and the URL's end in `line`, or -1 and the first word's end.
    """
    for at in (i for i, c in enumerate(line) if c == "@" and i >= first_word):
        end = at + 1 + len(_URL_TEXT.match(line, at + 1)[0])  # type: ignore[index]
        if ":" in line[:at] and not isinstance(_reading(line[:end], at), str):
            return at, end
    return -1, first_word


def _masked(rest: str, at: int) -> str:
    """The text after `://` of one URL, whose credentials end at `at`, with its password masked."""
    if at < 0:
        # A URL cut short after `user:password` (an unquoted ' #' in a .env file ends the value there)
        # has a "port" that is no number.
        authority = re.match(r"[^/?#]*", rest)[0]  # type: ignore[index]
        user, colon, after = authority.partition(":")
        cut_short = colon and not authority.startswith("[") and not after.isdigit()
        return f"{user}:{MASK}" if cut_short else rest  # its password may go on past a / ? or #
    user, colon, password = rest[:at].partition(":")
    return f"{user}:{MASK}@{rest[at + 1 :]}" if colon and password else rest
