"""Settings load order, the embedded keyword, and unreadable URLs (redaction: tests/test_database_url.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acams_db.errors import ToolchainError
from acams_db.settings import configured_database_url, database_url_in_files, load_settings


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


def test_the_url_is_kept_canonical_with_where_it_was_set(root: Path) -> None:
    (root / ".env").write_text("# development\nDATABASE_URL=postgresql://u:p@ss@LocalHost/acams\n")
    settings = load_settings(project_root=root)
    assert settings.database_url == "postgresql://u:p%40ss@LocalHost/acams"
    assert settings.database_url_origin == "DATABASE_URL in .env line 2"


def test_a_shared_dotenv_configures_development_and_staging_never_production(root: Path) -> None:
    (root / ".env").write_text("DATABASE_URL=postgresql://u@h/dev\n")
    (root / ".env.staging").write_text("DATABASE_URL=embedded\n")
    assert database_url_in_files(root, "development") == "postgresql://u@h/dev"
    assert database_url_in_files(root, "staging") is None  # its own file says the embedded server
    assert database_url_in_files(root, "production") is None
    (root / ".env.production").write_text("DATABASE_URL=postgresql://u@h/prod\n")
    configured = configured_database_url(root, "production")
    assert configured is not None and configured.origin == "DATABASE_URL in .env.production line 1"


SPACE_HASH_URL = "postgresql://u:12 #Xy9Qz@h/db"


def test_a_url_cut_short_by_a_dotenv_comment_is_refused(root: Path) -> None:
    """python-dotenv ends an unquoted value at ' #'; what is left ("host u, port 12") must not be used."""
    (root / ".env").write_text(f"DATABASE_URL={SPACE_HASH_URL}\n")
    expected = "DATABASE_URL in .env line 1 cannot be read: an unquoted value ends at ' #'"
    with pytest.raises(ToolchainError, match=re.escape(expected)):
        load_settings(project_root=root)


def test_a_quoted_url_keeps_its_space_and_hash(root: Path) -> None:
    (root / ".env").write_text(f"DATABASE_URL='{SPACE_HASH_URL}'\n")
    assert load_settings(project_root=root).database_url == "postgresql://u:12%20%23Xy9Qz@h/db"


def test_a_dotenv_that_names_production_is_productions_file(root: Path) -> None:
    (root / ".env").write_text("ACAMS_ENV=production\nDATABASE_URL=postgresql://u@h/prod\n")
    assert database_url_in_files(root, "production") == "postgresql://u@h/prod"
    assert database_url_in_files(root, "development") is None
