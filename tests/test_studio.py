"""Prisma Studio on the project's database: real Studio, real engine, real PostgreSQL, a real browser."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from acams_db.errors import RefusedError
from acams_db.operations.studio import studio_access
from acams_db.questions.bank import load_bank
from acams_db.settings import load_settings
from tests.support import REPOSITORY, PostgresServer, Project

ARTIFACTS = REPOSITORY / "tests" / "artifacts"
BROWSER_DRIVER = REPOSITORY / "tests" / "studio" / "browse.mjs"
# Any download attempt would go to this closed port and fail at once.
DEAD_PROXY = "http://127.0.0.1:9"
OFFLINE = {name: DEAD_PROXY for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")}
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
LISTEN_STATE = "0A"


@dataclass
class RunningStudio:
    process: subprocess.Popen[str]
    url: str
    access: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def acams_db_studio(project: Project, *arguments: str) -> Iterator[RunningStudio]:
    """`acams-db studio --json ARGUMENTS` in the project copy, offline; stopped with SIGTERM afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "acams_db", "studio", "--json", *arguments],
        cwd=project.root,
        env=project.environment(**OFFLINE),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until Studio answers, or ends with the process
        if not line:
            pytest.fail(f"acams-db studio did not start:\n{process.communicate(timeout=30)[1]}")
        document = json.loads(line)
        yield RunningStudio(process, document["url"], document["access"])
    finally:
        stop(process)
    assert process.returncode in (0, 128 + signal.SIGTERM), process.returncode
    assert processes_mentioning(str(project.root)) == [], "Studio outlived acams-db studio"


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        if text in command_line:
            found.append(f"{entry.name}: {command_line}")
    return found


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a listening TCP socket on `port`, from /proc/net/tcp and tcp6."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, port_hex = local.split(":")
            if state == LISTEN_STATE and int(port_hex, 16) == port:
                addresses.add("127.0.0.1" if address == LOOPBACK_HEX else address)
    return addresses


def studio_request(studio_url: str, operation: str, arguments: dict[str, Any], model: str = "Question") -> Any:
    """Ask Studio's server what its data browser asks it: a Prisma Client operation on a model."""
    body = {
        "requestId": 1,
        "channel": "prisma",
        "action": "clientRequest",
        "payload": {"data": {"modelName": model, "operation": operation, "args": arguments}},
    }
    request = urllib.request.Request(
        f"{studio_url}/api", data=json.dumps(body).encode(), headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(gzip.decompress(response.read()))["payload"]


def question_bank_fingerprint(postgres: PostgresServer, project: Project) -> str:
    return postgres.psql(
        "SELECT md5(string_agg(q::text, '|' ORDER BY q.id)) || md5(string_agg(o::text, '|' ORDER BY o.id)) "
        "FROM questions q JOIN answer_options o ON o.question_id = q.id",
        url=project.database_url,
    )


@pytest.fixture
def seeded(project: Project) -> Project:
    for command in (("deploy",), ("seed",)):
        result = project.run(*command)
        assert result.returncode == 0, result.stderr
    return project


def chromium_or_skip() -> str:
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs the Debian package `chromium`.")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); the browser test needs it.")
    return chromium


def test_studio_shows_the_seeded_questions_in_a_real_browser(
    seeded: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Chromium opens Studio, the Question model and a seeded question's stem; nothing is edited or downloaded."""
    chromium = chromium_or_skip()
    stem = load_bank(REPOSITORY / "data" / "questions.json")[0].stem
    before = question_bank_fingerprint(postgres, seeded)
    screenshot = ARTIFACTS / "studio-question.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    profile = tmp_path / "chromium-profile"

    with acams_db_studio(seeded) as studio:
        assert studio.access == "read-write"
        assert listening_addresses(studio.port) == {"127.0.0.1"}
        browser = subprocess.run(
            ["node", str(BROWSER_DRIVER), "--url", studio.url, "--model", "Question", "--text", stem,
             "--screenshot", str(screenshot), "--chromium", chromium, "--profile", str(profile)],
            cwd=REPOSITORY, env={**os.environ, **OFFLINE}, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    assert browser.returncode == 0, browser.stderr
    summary = json.loads(browser.stdout)
    print("browser timings (s):", summary["timings"])
    assert summary["readOnlyBand"] is None  # read-write: no read-only band
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert processes_mentioning(str(profile)) == [], "Chromium outlived the test"
    assert question_bank_fingerprint(postgres, seeded) == before


def test_staging_studio_says_read_only_and_shows_a_refused_edit_in_one_closable_line(
    seeded: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Staging in Chromium: a band says read-only before any edit; saving an edit shows PostgreSQL's reason alone
    in a dialog whose Dismiss button is on screen and closes it (it was a 3,000 px code frame); nothing changes."""
    chromium = chromium_or_skip()
    topic = load_bank(REPOSITORY / "data" / "questions.json")[0].topic
    before = question_bank_fingerprint(postgres, seeded)
    screenshots = [ARTIFACTS / "studio-staging.png", ARTIFACTS / "studio-staging-refused.png"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for screenshot in screenshots:
        screenshot.unlink(missing_ok=True)

    with acams_db_studio(seeded, "--env", "staging") as studio:
        browser = subprocess.run(
            ["node", str(BROWSER_DRIVER), "--url", studio.url, "--model", "Question", "--text", topic,
             "--screenshot", str(screenshots[0]), "--chromium", chromium, "--profile", str(tmp_path / "profile"),
             "--edit", "Edited in Studio", "--error-screenshot", str(screenshots[1]),
             "--expect-error", "cannot execute UPDATE in a read-only transaction (PostgreSQL error 25006)"],
            cwd=REPOSITORY, env={**os.environ, **OFFLINE}, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    assert browser.returncode == 0, browser.stderr
    assert json.loads(browser.stdout)["readOnlyBand"] == "Read-only (staging): the database refuses every change"
    assert all(screenshot.read_bytes().startswith(b"\x89PNG") for screenshot in screenshots)
    assert question_bank_fingerprint(postgres, seeded) == before


def test_a_check_constraint_violation_in_studio_reads_as_the_database_says_it(seeded: Project) -> None:
    """Development: Studio answers a write that breaks a check constraint with PostgreSQL's one-line reason."""
    with acams_db_studio(seeded) as studio:
        answer = studio_request(
            studio.url, "create", {"data": {"email": "Learner@Example.org", "name": "Learner"}}, model="User"
        )
    assert answer["error"]["message"] == (
        'new row for relation "users" violates check constraint "users_email_normalised" (PostgreSQL error 23514)'
    )


def test_prisma_studio_typed_by_hand_reads_the_database_on_loopback_only(seeded: Project) -> None:
    """`prisma studio` in the activated environment (no --hostname) listens on 127.0.0.1 and reads real rows."""
    port = free_port()
    prisma = Path(sys.executable).parent / "prisma"
    process = subprocess.Popen(
        [str(prisma), "studio", "--browser", "none", "--port", str(port)],
        cwd=seeded.root,
        env=seeded.environment(**OFFLINE),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as on a terminal
    )
    try:
        wait_for_listener(process, port)
        assert listening_addresses(port) == {"127.0.0.1"}
        answer = studio_request(f"http://127.0.0.1:{port}", "findUnique", {"where": {"id": "AML-0001"}})
        assert answer["error"] is None
        assert answer["data"]["stem"] == load_bank(REPOSITORY / "data" / "questions.json")[0].stem
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C: the `prisma` wrapper and Node both get it
        stop(process)
    assert processes_mentioning(str(seeded.root)) == []


def test_studio_refuses_a_host_other_than_loopback(project: Project) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "prisma"), "studio", "--browser", "none", "--hostname", "0.0.0.0"],
        cwd=project.root, env=project.environment(**OFFLINE), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "binds to 127.0.0.1 only; refused --hostname 0.0.0.0" in result.stdout + result.stderr


def test_staging_studio_is_read_only_at_the_database(seeded: Project, postgres: PostgresServer) -> None:
    """Outside development the database itself refuses Studio's writes; reads work."""
    before = question_bank_fingerprint(postgres, seeded)
    with acams_db_studio(seeded, "--env", "staging") as studio:
        assert studio.access == "read-only"
        assert studio_request(studio.url, "count", {})["data"] == len(load_bank(REPOSITORY / "data" / "questions.json"))
        answer = studio_request(studio.url, "update", {"where": {"id": "AML-0001"}, "data": {"topic": "edited"}})
    assert answer["error"] is not None, f"the update was accepted: {answer}"
    assert "cannot execute UPDATE in a read-only transaction" in answer["error"]["message"]
    assert question_bank_fingerprint(postgres, seeded) == before


def test_production_is_refused_unless_allowed(project: Project) -> None:
    """Refused with exit 4 and the command to run instead, both through acams-db and `prisma studio`."""
    refused = project.run("studio", "--env", "production")
    assert refused.returncode == 4
    assert "acams-db studio --env production --allow-production" in refused.stderr

    typed = subprocess.run(
        [str(Path(sys.executable).parent / "prisma"), "studio", "--browser", "none"],
        cwd=project.root, env=project.environment(ACAMS_ENV="production", **OFFLINE),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert typed.returncode != 0
    assert "refused in production" in typed.stdout + typed.stderr


@pytest.mark.parametrize(
    ("environment", "options", "read_only"),
    [
        ("development", {}, False),
        ("development", {"read_only": True}, True),
        ("staging", {}, True),
        ("production", {"allow_production": True}, True),
    ],
)
def test_studio_access_by_environment(
    project: Project, environment: str, options: dict[str, bool], read_only: bool
) -> None:
    settings = load_settings(environment, project_root=project.root)
    assert studio_access(settings, **options).read_only is read_only


def test_studio_access_refuses_production_by_default(project: Project) -> None:
    with pytest.raises(RefusedError, match="refused in production"):
        studio_access(load_settings("production", project_root=project.root))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_listener(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while not listening_addresses(port):
        if process.poll() is not None:
            pytest.fail(f"prisma studio ended:\n{process.communicate()[0]}")
        if time.monotonic() > deadline:
            pytest.fail("prisma studio did not listen within 60 s")
        time.sleep(0.1)
