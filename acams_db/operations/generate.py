"""Generate Prisma Client Python from schema.prisma, skipping the work when nothing it depends on changed."""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

from acams_db.contract import BRIDGE_CLIENT_PID_VARIABLE
from acams_db.errors import SetupMissingError, ToolchainError
from acams_db.runtime.prisma_cli import run_prisma
from acams_db.settings import Settings

# Written into the generated package, beside the copy of schema.prisma that Prisma Client Python puts there: the
# digest of everything the client was generated from.
INPUTS_NAME = ".acams-client-inputs.sha256"
_PARTIAL_TYPES = re.compile(r'^\s*partial_type_generator\s*=\s*"([^"]*)"', re.MULTILINE)
# Prisma Client Python reads its configuration ([tool.prisma]: the engine version it expects, the CLI's) from
# the pyproject.toml of the current folder (prisma/_config.py, Config.load): a script run from any other folder
# expected the engine of Prisma Client Python's own release and failed with MismatchedVersionsError. The
# generated package carries the project's [tool.prisma] values instead, wherever it runs from, and reads no file
# (a path would point at whichever copy of the project generated last, gone once that copy is).
# The line that picks the file, or the values baked in before (generation starts from the installed package).
_CONFIG_PATH_LINE = re.compile(
    r"^(\s*)(?:path = Path\([^\n]*\)|return cls\.parse\(\*\*\{[^\n]*\}\))(  # [^\n]*)?$", re.MULTILINE
)
_BAKED = "# the project's [tool.prisma], baked in by acams_db/operations/generate.py"
# The generated client's HTTP sessions: acams_db/runtime/loopback_http.py for its requests to the local engine.
# Named, not imported: it imports httpx, a tenth of a second that every acams-db command would pay at start-up.
_LOOPBACK_SESSIONS = "acams_db.runtime.loopback_http"
_SESSIONS = {
    "_async_http.py": ("httpx.AsyncClient(**self.session_kwargs)", "async_session"),
    "_sync_http.py": ("httpx.Client(**self.session_kwargs)", "sync_session"),
}
# Prisma Client Python's query builder (prisma/_builder.py), changed where it costs or corrupts:
# - it asks, for every field of the model, whether it is a relation, on every query (get_default_fields): 40% of
#   building a find_unique. A model class's fields never change: the answer is kept per model class and field.
# - it indents each nested part of the query with textwrap.indent, which also breaks lines at U+0085, U+2028 and
#   U+2029 inside string values (stored with spaces after them), and copies a raw query's megabytes of
#   parameters once per level. GraphQL ignores the indentation: the parts are joined as they are.
_INDENTED_PART = "strings.append(indent(content, self.indent))"
_RELATION_CHECK = "def _field_is_prisma_model(field: FieldInfo, *, name: str, parent: type[BaseModel]) -> bool:"
_BUILDER_MARK = "# Changed by acams-db generate: relation fields remembered per model class, parts not indented."
_RELATION_CACHE = f"""

{_BUILDER_MARK}
import weakref as _weakref

_relation_fields: _weakref.WeakKeyDictionary[type[BaseModel], dict[str, bool]] = _weakref.WeakKeyDictionary()
_field_is_prisma_model_uncached = _field_is_prisma_model


{_RELATION_CHECK}  # noqa: F811
    known = _relation_fields.setdefault(parent, {{}})
    if name not in known:
        known[name] = _field_is_prisma_model_uncached(field, name=name, parent=parent)
    return known[name]
"""

# Prisma Client Python starts the query engine itself (prisma/engine/_query.py) and tells it nothing of its own
# process. The bridge watches its parent pid, but can read it only once Node has loaded its modules: a client
# killed before then left a bridge adopted by pid 1, serving for ever. The client now names itself in the engine's
# environment, and the bridge exits when its parent is any other process (engine/bin/query-engine.mjs). Not
# PR_SET_PDEATHSIG: that follows the thread that started the engine, and a sync client may connect from a worker.
_ENGINE_PROTOCOL = "            PRISMA_ENGINE_PROTOCOL='graphql',\n"
_CLIENT_PID_MARK = "# Added by acams-db generate: the bridge exits when its parent is not this process."
_CLIENT_PID = f"            {BRIDGE_CLIENT_PID_VARIABLE}=str(os.getpid()),  {_CLIENT_PID_MARK}\n"

# Prisma Client Python's `prisma` command (prisma/cli/prisma.py, run) waits for the Prisma CLI in
# subprocess.run: Ctrl-C, which the terminal sends to the CLI too, raised KeyboardInterrupt there, killed the CLI
# a quarter of a second later whatever it was doing, and printed a 20-line traceback. Like a shell, the command now
# leaves Ctrl-C to the CLI, waits for it, and exits as it did (128 + the signal's number when a signal ended it).
_CLI_RUN = "    process = node.run(\n"
_CLI_EXIT = "    return process.returncode\n"
_CLI_MARK = "# Changed by acams-db generate: Ctrl-C is the Prisma CLI's to handle; this process waits for it."
_CLI_WAITS = f"""    {_CLI_MARK}
    import signal

    signal.signal(signal.SIGINT, lambda *_: None)  # not SIG_IGN: the CLI would inherit it
"""
_CLI_EXITS_AS_SHELLS_DO = "    return 128 - process.returncode if process.returncode < 0 else process.returncode\n"


def client_inputs_digest(settings: Settings) -> str:
    """A digest of everything the generated client depends on."""
    digest = hashlib.sha256()
    schema = settings.schema_path.read_text() if settings.schema_path.is_file() else ""
    partial_types = [settings.project_root / script for script in _PARTIAL_TYPES.findall(schema)]
    for path in (settings.schema_path, settings.project_root / "package-lock.json", *partial_types):
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(importlib.metadata.version("prisma").encode())
    # How the generated client is post-processed (below).
    digest.update(Path(__file__).read_bytes())
    # The bridge's path is baked into the client (a copy of the project sharing engine/ shares it).
    digest.update(str((settings.project_root / "engine" / "bin" / "query-engine.mjs").resolve()).encode())
    return digest.hexdigest()


def client_is_current(settings: Settings, package: Path) -> bool:
    """Whether the client installed in `package` is the one acams-db generates from the current inputs.

    Judged by the installed client, not by a note kept elsewhere: a `prisma generate` typed by hand replaces the
    client (and its copy of schema.prisma) behind acams-db's back. Once a field was added, generated that way and
    removed again, a stamp of the inputs matched and the client still had the field (issue #14).
    """
    generated_schema, inputs = package / "schema.prisma", package / INPUTS_NAME
    return (
        (package / "client.py").is_file()
        and generated_schema.is_file()
        and generated_schema.read_bytes() == settings.schema_path.read_bytes()
        and inputs.is_file()
        and inputs.read_text().strip() == client_inputs_digest(settings)
        and _BAKED in (package / "_config.py").read_text()
    )


def generate(settings: Settings, *, force: bool = False) -> bool:
    """Generate the client into this Python environment; return False when it was already up to date."""
    package = _client_package()
    if not force and client_is_current(settings, package):
        return False
    # Gone while the package is rewritten: a generation stopped half-way is never taken for a current one.
    (package / INPUTS_NAME).unlink(missing_ok=True)
    # The generator runs inside the installed package, whose configuration may name another project's values.
    bake_project_config(package, settings.project_root / "pyproject.toml")
    run_prisma(settings, ["generate"], database=None)
    bake_project_config(_client_package(), settings.project_root / "pyproject.toml")
    use_loopback_http(_client_package())
    change_query_builder(_client_package())
    name_the_client_to_its_engine(_client_package())
    leave_ctrl_c_to_the_prisma_cli(_client_package())
    # Compiled to bytecode now: where Python may not write bytecode (PYTHONDONTWRITEBYTECODE, as container images
    # often set, or a read-only install), every import would compile the client's half a megabyte of source again.
    compileall.compile_dir(_client_package(), quiet=1)
    (package / INPUTS_NAME).write_text(client_inputs_digest(settings) + "\n")
    return True


def bake_project_config(package: Path, pyproject: Path) -> None:
    """Give the generated client in `package` the [tool.prisma] values of `pyproject`, read now, once."""
    module = package / "_config.py"
    values = tomllib.loads(pyproject.read_text()).get("tool", {}).get("prisma", {})
    baked, count = _CONFIG_PATH_LINE.subn(
        lambda match: f"{match[1]}return cls.parse(**{values!r})  {_BAKED}", module.read_text(), count=1
    )
    if count != 1:
        raise ToolchainError(f"{module} has no pyproject.toml path to replace: is this Prisma Client Python 0.15?")
    module.write_text(baked)


def use_loopback_http(package: Path) -> None:
    """Make the generated client in `package` send its requests to the engine through runtime/loopback_http.py."""
    for name, (opened, factory) in _SESSIONS.items():
        module = package / name
        text = module.read_text()
        # Generation copies these files from the installed package, which may be patched already, perhaps by an
        # earlier version of this function that imported the session from another module: patch it anew.
        earlier = re.compile(rf"from acams_db\.[\w.]+ import {factory}\n\n\s*self\.session = {factory}\([^\n]*")
        text = earlier.sub(f"self.session = {opened}", text)
        if f"self.session = {opened}" not in text:
            raise ToolchainError(f"{module} opens no httpx session to replace: is this Prisma Client Python 0.15?")
        module.write_text(
            text.replace(
                f"self.session = {opened}",
                f"from {_LOOPBACK_SESSIONS} import {factory}\n\n"
                f"        self.session = {factory}(self.session_kwargs)  # type: ignore[assignment]",
            )
        )


def change_query_builder(package: Path) -> None:
    """Make the query builder of the client in `package` work out relation fields once and indent nothing."""
    _patch(
        package / "_builder.py",
        _BUILDER_MARK,
        {_RELATION_CHECK: None, _INDENTED_PART: "strings.append(content)"},
        "is not the query builder expected",
        appended=_RELATION_CACHE,
    )


def name_the_client_to_its_engine(package: Path) -> None:
    """Make the client in `package` give the query engine it starts its own process id."""
    _patch(
        package / "engine" / "_query.py",
        _CLIENT_PID_MARK,
        {_ENGINE_PROTOCOL: _ENGINE_PROTOCOL + _CLIENT_PID},
        "sets no engine environment to add to",
    )


def leave_ctrl_c_to_the_prisma_cli(package: Path) -> None:
    """Make the `prisma` command of the package in `package` stop quietly on Ctrl-C, when the Prisma CLI does."""
    _patch(
        package / "cli" / "prisma.py",
        _CLI_MARK,
        {_CLI_RUN: _CLI_WAITS + _CLI_RUN, _CLI_EXIT: _CLI_EXITS_AS_SHELLS_DO},
        "does not start the Prisma CLI as expected",
    )


def _patch(module: Path, mark: str, replacements: dict[str, str | None], unexpected: str, appended: str = "") -> None:
    """Replace each key of `replacements` (found exactly once; None: only required to be there) in `module`.

    Generation copies these files from the installed package, which may be patched already: `mark` says so.
    """
    text = module.read_text()
    if mark in text:
        return
    if any(expected not in text if r is None else text.count(expected) != 1 for expected, r in replacements.items()):
        raise ToolchainError(f"{module} {unexpected}: is this Prisma Client Python 0.15?")
    for expected, replacement in replacements.items():
        if replacement is not None:
            text = text.replace(expected, replacement)
    module.write_text(text + appended)


def _client_package() -> Path:
    """The folder of the `prisma` package, where the client is generated."""
    spec = importlib.util.find_spec("prisma")
    if spec is None or spec.origin is None:
        raise SetupMissingError("Prisma Client Python (PyPI prisma) is not installed. Run: make install")
    return Path(spec.origin).parent
