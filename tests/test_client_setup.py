"""The project's own client in a user's script, and `prisma ...` typed in the environment: no set-up by hand."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPOSITORY, PostgresServer, Project

VENV_BIN = Path(sys.executable).parent
USER_SCRIPT = textwrap.dedent(
    """
    import asyncio
    from prisma import Prisma
    from prisma.partials import QuestionSummary

    async def main():
        db = Prisma(auto_register=True)
        await db.connect()
        await db.user.create(data={"email": "learner@example.org", "name": "Learner"})
        await db.question.create(data={
            "id": "AML-9999", "domain": "standards", "topic": "FATF", "stem": "Which body?",
            "explanation": "Because.", "difficulty": "easy", "tags": ["fatf"], "reference": "FATF R.1",
            "contentHash": "0" * 64,
        })
        summaries = await QuestionSummary.prisma().find_many()
        print(await db.user.count(), [s.id for s in summaries], sorted(type(summaries[0]).model_fields))
        await db.disconnect()

    asyncio.run(main())
    """
)


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without any database or toolchain variable, as in a fresh shell."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("ACAMS_", "DATABASE_URL", "SHADOW_", "PRISMA_"))
    }
    environment["PATH"] = f"{VENV_BIN}{os.pathsep}{environment['PATH']}"
    environment.update(extra)
    return environment


@pytest.fixture(scope="session")
def project_client() -> None:
    """The project's client, generated into this environment (skipped when up to date)."""
    completed = subprocess.run(
        [sys.executable, "-m", "acams_db", "generate"],
        cwd=REPOSITORY,
        env=clean_environment(),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr


@pytest.fixture
def migrated(project: Project) -> Iterator[Project]:
    assert project.run("deploy").returncode == 0
    yield project


def test_user_script_finds_bridge_and_database_from_dotenv(
    project_client: None, migrated: Project, postgres: PostgresServer
) -> None:
    """A plain script run with the project's Python needs no exported variable: .env names the database."""
    (migrated.root / ".env").write_text(f"DATABASE_URL={migrated.database_url}\n")
    (migrated.root / "script.py").write_text(USER_SCRIPT)
    completed = subprocess.run(
        [sys.executable, "script.py"],
        cwd=migrated.root,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert (
        completed.stdout.strip() == "1 ['AML-9999'] ['active', 'difficulty', 'domain', 'id', 'stem', 'tags', 'topic']"
    )
    assert postgres.psql("SELECT email FROM users", url=migrated.database_url) == "learner@example.org"


def test_a_script_in_any_folder_uses_the_project_client(
    project_client: None, migrated: Project, tmp_path: Path
) -> None:
    """Run from a subfolder, or from a folder outside the project, a script finds the engine version it expects.

    Prisma Client Python reads [tool.prisma] from the current folder's pyproject.toml; the generated client reads
    the project's (issue #13: MismatchedVersionsError, expected 393aa359…).
    """
    (migrated.root / ".env").write_text(f"DATABASE_URL={migrated.database_url}\n")
    jobs = migrated.root / "app" / "jobs"
    jobs.mkdir(parents=True)
    script = jobs / "count_users.py"
    script.write_text(
        "import asyncio\nfrom prisma import Prisma\n\n"
        "async def main():\n    db = Prisma()\n    await db.connect()\n    print(await db.user.count())\n"
        "    await db.disconnect()\n\nasyncio.run(main())\n"
    )
    for folder in (jobs, tmp_path):
        completed = subprocess.run(
            [sys.executable, str(script)],
            cwd=folder,
            env=clean_environment(DATABASE_URL=migrated.database_url),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.strip() == "0"


def test_user_script_with_a_missing_database_gets_a_clear_message(project_client: None, project: Project) -> None:
    missing = project.database_url.replace("/test_", "/missing_")
    (project.root / ".env").write_text(f"DATABASE_URL={missing}\n")
    script = "import asyncio\nfrom prisma import Prisma\nasyncio.run(Prisma().connect(timeout=5))\n"
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project.root,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode != 0
    assert 'database "missing_' in completed.stderr and "does not exist" in completed.stderr


def test_bridge_without_the_python_environment_says_what_to_run(tmp_path: Path) -> None:
    """A copy of engine/ with no .venv beside it cannot resolve the database and says: make install."""
    shutil.copytree(REPOSITORY / "engine", tmp_path / "engine")
    (tmp_path / "node_modules").symlink_to(REPOSITORY / "node_modules")
    completed = subprocess.run(
        [str(tmp_path / "engine" / "bin" / "query-engine.mjs"), "-p", "4999"],
        env=clean_environment(PRISMA_DML_PATH=str(REPOSITORY / "schema.prisma")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1
    assert "Run: make install" in completed.stderr


def test_prisma_cli_in_the_environment_needs_no_download(project: Project) -> None:
    """`prisma validate` and `prisma migrate status`, as typed by a user, work offline through the pinned CLI.

    Any download attempt would go to an unreachable proxy and fail the command.
    """
    offline = clean_environment(
        DATABASE_URL=project.database_url, HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9"
    )
    validate = subprocess.run(
        ["prisma", "validate"], cwd=project.root, env=offline, capture_output=True, text=True, timeout=120
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "is valid" in validate.stdout
    assert "binaries.prisma.sh" not in validate.stdout + validate.stderr
    status = subprocess.run(
        ["prisma", "migrate", "status"], cwd=project.root, env=offline, capture_output=True, text=True, timeout=120
    )
    assert "have not yet been applied" in status.stdout, status.stdout + status.stderr


def test_generation_replaces_a_session_patch_that_names_a_moved_module(tmp_path: Path) -> None:
    """The HTTP session modules are copied from the installed package, which may carry an earlier patch whose
    import names where loopback_http.py used to be (acams_db.loopback_http): generation writes today's."""
    from acams_db.operations.generate import use_loopback_http

    installed = Path(sysconfig.get_paths()["purelib"])
    for name in ("_async_http.py", "_sync_http.py"):
        text = (installed / "prisma" / name).read_text()
        (tmp_path / name).write_text(text.replace("acams_db.runtime.loopback_http", "acams_db.loopback_http"))
    use_loopback_http(tmp_path)
    for name, factory in (("_async_http.py", "async_session"), ("_sync_http.py", "sync_session")):
        text = (tmp_path / name).read_text()
        assert f"from acams_db.runtime.loopback_http import {factory}\n" in text
        assert "acams_db.loopback_http" not in text
        assert text.count(f"self.session = {factory}(") == 1


@pytest.mark.parametrize(
    ("patch", "module", "added"),
    [
        ("name_the_client_to_its_engine", "engine/_query.py", "ACAMS_BRIDGE_CLIENT_PID=str(os.getpid()),"),
        ("leave_ctrl_c_to_the_prisma_cli", "cli/prisma.py", "signal.signal(signal.SIGINT,"),
        ("leave_ctrl_c_to_the_prisma_cli", "cli/prisma.py", "return 128 - process.returncode"),
    ],
)
def test_a_static_module_of_the_client_is_changed_once_however_often_the_client_is_generated(
    tmp_path: Path, patch: str, module: str, added: str
) -> None:
    """Generation leaves engine/_query.py and cli/prisma.py as the installed package has them, patched already after
    `acams-db generate`: each change is made once, in a module that still compiles."""
    from acams_db.operations import generate

    installed = Path(sysconfig.get_paths()["purelib"]) / "prisma" / module
    (tmp_path / module).parent.mkdir()
    (tmp_path / module).write_text(installed.read_text())
    getattr(generate, patch)(tmp_path)
    getattr(generate, patch)(tmp_path)
    text = (tmp_path / module).read_text()
    assert text.count(added) == 1
    compile(text, module, "exec")
