"""Settings load order, the embedded keyword, and password redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from acams_db.errors import ToolchainError
from acams_db.settings import load_settings, redact


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ACAMS_ENV", "DATABASE_URL", "SHADOW_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "prisma.config.ts").write_text("")
    return tmp_path


def test_defaults_to_development_on_the_embedded_database(root: Path) -> None:
    settings = load_settings(project_root=root)
    assert settings.environment == "development"
    assert settings.uses_embedded_database


def test_environment_file_overrides_dotenv(root: Path) -> None:
    """.env.<environment> wins over .env."""
    (root / ".env").write_text("ACAMS_ENV=staging\nDATABASE_URL=postgresql://base@localhost/base\n")
    (root / ".env.staging").write_text("DATABASE_URL=postgresql://staging@localhost/staging\n")
    settings = load_settings(project_root=root)
    assert settings.environment == "staging"
    assert settings.database_url == "postgresql://staging@localhost/staging"


def test_real_environment_variables_win(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / ".env").write_text("DATABASE_URL=postgresql://file@localhost/file\n")
    (root / ".env.development").write_text("DATABASE_URL=postgresql://dev@localhost/dev\n")
    monkeypatch.setenv("DATABASE_URL", "postgresql://real@localhost/real")
    assert load_settings(project_root=root).database_url == "postgresql://real@localhost/real"


def test_explicit_environment_wins_over_acams_env(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACAMS_ENV", "staging")
    (root / ".env.production").write_text("DATABASE_URL=postgresql://prod@db/prod\n")
    settings = load_settings("production", project_root=root)
    assert settings.environment == "production"
    assert settings.database_url == "postgresql://prod@db/prod"


def test_embedded_keyword_means_the_embedded_server(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "embedded")
    assert load_settings(project_root=root).uses_embedded_database


def test_unknown_environment_is_refused(root: Path) -> None:
    with pytest.raises(ToolchainError, match="Unknown environment 'prod'"):
        load_settings("prod", project_root=root)


def test_a_non_postgresql_url_is_refused_without_showing_its_password(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root:hunter2@db/x")
    with pytest.raises(ToolchainError) as raised:
        load_settings(project_root=root)
    assert "hunter2" not in str(raised.value)
    assert str(raised.value) == (
        "DATABASE_URL (environment variable) must be a PostgreSQL URL, starting with postgresql:// or "
        "postgres:// (it starts with mysql://)."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://user:s3cr%40t@host:5432/db", "postgresql://user:***@host:5432/db"),
        (
            "error at postgres://u:p@h/d and postgresql://v:q@i/e",
            "error at postgres://u:***@h/d and postgresql://v:***@i/e",
        ),
        (
            "postgresql://user@host/db?password=abc&sslmode=require",
            "postgresql://user@host/db?password=***&sslmode=require",
        ),
        ("postgresql://postgres:@/acams?host=/tmp/x", "postgresql://postgres:@/acams?host=/tmp/x"),
    ],
)
def test_redact_hides_passwords(text: str, expected: str) -> None:
    assert redact(text) == expected
