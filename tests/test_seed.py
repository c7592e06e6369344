"""The question seed through the real CLI, Prisma Client Python and engine, against a real PostgreSQL."""

from __future__ import annotations

import copy
import hashlib
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from acams_db.questions.bank import load_bank
from tests.support import REPOSITORY, PostgresServer, Project

SHIPPED_BANK = REPOSITORY / "data" / "questions.json"
SCHEMA = REPOSITORY / "data" / "questions.schema.json"


def question(number: int, **changes: Any) -> dict[str, Any]:
    entry = {
        "id": f"AML-{number:04d}",
        "domain": "standards",
        "topic": "FATF",
        "stem": f"Question {number}?",
        "options": [
            {"label": "A", "text": "Right", "correct": True},
            {"label": "B", "text": "Wrong", "correct": False},
            {"label": "C", "text": "Also wrong", "correct": False},
            {"label": "D", "text": "Still wrong", "correct": False},
        ],
        "explanation": "A is right; B, C and D are not.",
        "difficulty": "easy",
        "tags": ["fatf"],
        "reference": "FATF Recommendation 1",
    }
    entry.update(changes)
    return entry


def write_bank(path: Path, questions: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"version": 1, "questions": questions}, indent=2))
    return path


def seed(project: Project, *arguments: str) -> dict[str, Any]:
    result = project.run("seed", "--json", *arguments)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def counts(postgres: PostgresServer, project: Project) -> tuple[int, int]:
    questions = postgres.psql("SELECT count(*) FROM questions", url=project.database_url)
    options = postgres.psql("SELECT count(*) FROM answer_options", url=project.database_url)
    return int(questions), int(options)


def stored_questions(postgres: PostgresServer, project: Project) -> list[dict[str, Any]]:
    """Every stored question, with its options, in the bank's field names."""
    document = postgres.psql(
        "SELECT json_agg(json_build_object('id', q.id, 'domain', q.domain, 'topic', q.topic, 'stem', q.stem,"
        " 'options', (SELECT json_agg(json_build_object('label', o.label, 'text', o.text, 'correct', o.is_correct)"
        " ORDER BY o.label) FROM answer_options o WHERE o.question_id = q.id), 'explanation', q.explanation,"
        " 'difficulty', q.difficulty, 'tags', q.tags, 'reference', q.reference, 'content_hash', q.content_hash,"
        " 'active', q.active) ORDER BY q.id) FROM questions q",
        url=project.database_url,
    )
    return list(json.loads(document))


@pytest.fixture
def migrated(project: Project) -> Project:
    assert project.run("deploy").returncode == 0
    return project


def test_shipped_bank_is_valid_and_covers_the_exam_domains() -> None:
    """Every shipped question validates, has four options, one correct; domains follow the exam's weights."""
    bank = load_bank(SHIPPED_BANK)
    assert len(bank) >= 120
    assert all(len(q.options) == 4 and sum(o.correct for o in q.options) == 1 for q in bank)
    shares: dict[str, float] = {domain: count / len(bank) for domain, count in Counter(q.domain for q in bank).items()}
    exam_weights = {"risks_and_methods": 0.26, "standards": 0.25, "compliance_programs": 0.28, "investigations": 0.21}
    assert all(abs(shares[domain] - weight) < 0.03 for domain, weight in exam_weights.items()), shares


def test_fresh_seed_matches_the_file_and_a_rerun_writes_nothing(migrated: Project, postgres: PostgresServer) -> None:
    bank = load_bank(SHIPPED_BANK)
    first = seed(migrated)
    assert (first["created"], first["updated"], first["unchanged"]) == (len(bank), 0, 0)
    assert counts(postgres, migrated) == (len(bank), 4 * len(bank))
    assert stored_questions(postgres, migrated) == [
        {
            **msgspec.to_builtins(question),
            "options": [msgspec.to_builtins(option) for option in question.options],
            "content_hash": content_hash,
            "active": True,
        }
        for question, content_hash in sorted(zip(bank, bank.content_hashes, strict=True), key=lambda q: q[0].id)
    ]
    written_at = postgres.psql("SELECT max(updated_at) FROM questions", url=migrated.database_url)

    second = seed(migrated)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, len(bank))
    assert postgres.psql("SELECT max(updated_at) FROM questions", url=migrated.database_url) == written_at


def seed_records(postgres: PostgresServer, project: Project) -> list[dict[str, Any]]:
    """The rows of question_bank_seeds, oldest first, without their id and time."""
    document = postgres.psql(
        "SELECT coalesce(json_agg(json_build_object('file_sha256', file_sha256, 'questions', questions,"
        " 'created', created, 'updated', updated, 'deactivated', deactivated) ORDER BY id), '[]')"
        " FROM question_bank_seeds",
        url=project.database_url,
    )
    return list(json.loads(document))


def test_a_file_seeded_before_is_validated_again_only_when_the_table_changed(
    migrated: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Every validated file is recorded; the same bytes seeded again skip validation while the questions are
    as that seed left them, and are validated as usual otherwise."""
    bank = write_bank(tmp_path / "bank.json", [question(1), question(2)])
    file_sha256 = hashlib.sha256(bank.read_bytes()).hexdigest()
    first = seed(migrated, "--file", str(bank))
    assert first["validated"] is True
    recorded = {"file_sha256": file_sha256, "questions": 2, "created": 2, "updated": 0, "deactivated": 0}
    assert seed_records(postgres, migrated) == [recorded]

    again = seed(migrated, "--file", str(bank))
    assert (again["validated"], again["created"], again["updated"], again["unchanged"]) == (False, 0, 0, 2)
    assert seed_records(postgres, migrated) == [recorded]  # nothing written
    dry_run = seed(migrated, "--file", str(bank), "--dry-run")
    assert (dry_run["validated"], dry_run["unchanged"]) == (False, 2)

    # A question changed by other means: validated again, the question restored, the seed recorded.
    postgres.psql(
        "UPDATE questions SET stem = 'edited', content_hash = repeat('0', 64) WHERE id = 'AML-0002'",
        url=migrated.database_url,
    )
    restored = seed(migrated, "--file", str(bank))
    assert (restored["validated"], restored["updated"], restored["unchanged"]) == (True, 1, 1)
    assert postgres.psql("SELECT stem FROM questions WHERE id = 'AML-0002'", url=migrated.database_url) == (
        "Question 2?"
    )
    assert seed_records(postgres, migrated)[1] == {**recorded, "created": 0, "updated": 1}

    # The same questions in other bytes: validated, nothing to write; recorded, so the next run skips it.
    reformatted = tmp_path / "reformatted.json"
    reformatted.write_text(json.dumps(json.loads(bank.read_text())))
    assert [seed(migrated, "--file", str(reformatted))["validated"] for _ in range(2)] == [True, False]
    assert seed_records(postgres, migrated)[2]["file_sha256"] == hashlib.sha256(reformatted.read_bytes()).hexdigest()

    # A record made by another validator (its code or the schema has changed since) does not count.
    postgres.psql("UPDATE question_bank_seeds SET validator = repeat('0', 64)", url=migrated.database_url)
    assert seed(migrated, "--file", str(bank))["validated"] is True
    assert seed(migrated, "--file", str(bank))["validated"] is False


def test_a_database_with_pending_migrations_is_a_clear_error(project: Project) -> None:
    result = project.run("seed")
    assert result.returncode == 1
    assert 'The database lacks part of the schema (relation "questions" does not exist)' in result.stderr
    assert "Apply the pending migrations first: make deploy" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_a_clear_error(migrated: Project) -> None:
    result = migrated.run("seed", DATABASE_URL="postgresql://postgres:secret@127.0.0.1:1/acams")
    assert result.returncode == 1
    assert "The query engine cannot reach the database" in result.stderr
    assert "error: The query engine did not start (reason above); nothing was written." in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_edited_questions_are_updated_exactly(migrated: Project, postgres: PostgresServer, tmp_path: Path) -> None:
    """Stem edits, option text edits, and options removed and added follow the file; option rows are kept."""
    bank = tmp_path / "bank.json"
    original = [question(1), question(2), question(3), question(4)]
    seed(migrated, "--file", str(write_bank(bank, original)))
    kept_option = postgres.psql(
        "SELECT id FROM answer_options WHERE question_id = 'AML-0002' AND label = 'A'", url=migrated.database_url
    )

    edited = copy.deepcopy(original)
    edited[0]["stem"] = "A better question 1?"
    edited[1]["options"][0]["text"] = "Right, reworded"
    edited[2]["options"] = edited[2]["options"][:3]  # D removed
    edited[3]["options"].append({"label": "E", "text": "New option", "correct": False})
    report = seed(migrated, "--file", str(write_bank(bank, edited)))
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 4, 0)

    def value(sql: str) -> str:
        return postgres.psql(sql, url=migrated.database_url)

    assert value("SELECT stem FROM questions WHERE id = 'AML-0001'") == "A better question 1?"
    assert value("SELECT text FROM answer_options WHERE question_id = 'AML-0002' AND label = 'A'") == "Right, reworded"
    assert value("SELECT id FROM answer_options WHERE question_id = 'AML-0002' AND label = 'A'") == kept_option
    assert (
        value("SELECT string_agg(label, '' ORDER BY label) FROM answer_options WHERE question_id = 'AML-0003'") == "ABC"
    )
    assert (
        value("SELECT string_agg(label, '' ORDER BY label) FROM answer_options WHERE question_id = 'AML-0004'")
        == "ABCDE"
    )


def test_invalid_bank_reports_every_problem_and_changes_nothing(
    migrated: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    seed(migrated, "--file", str(write_bank(tmp_path / "good.json", [question(1)])))
    bad = [
        question(1, stem="   "),
        question(2, domain="astrology"),
        question(1),
        question(
            3, options=[{"label": "A", "text": "x", "correct": True}, {"label": "A", "text": "y", "correct": True}]
        ),
        question(4, difficulty=3),
        question(5, surprise="field"),
        {key: value for key, value in question(6).items() if key != "reference"},
    ]
    result = migrated.run("seed", "--file", str(write_bank(tmp_path / "bad.json", bad)))
    assert result.returncode == 1
    for expected in (
        "$.questions[0].stem: expected non-empty text",
        "$.questions[1].domain: expected one of risks_and_methods, standards, compliance_programs, investigations,"
        " got 'astrology'",
        "$.questions[2].id: duplicate id 'AML-0001' (first at $.questions[0])",
        "$.questions[3].options: duplicate option label 'A'",
        "$.questions[3].options: expected exactly one correct option, found 2",
        "$.questions[4].difficulty: expected one of easy, medium, hard, got 3",
        "$.questions[5]: Additional properties are not allowed ('surprise' was unexpected)",
        "$.questions[6]: 'reference' is a required property",
        "nothing was written",
    ):
        assert expected in result.stderr, result.stderr
    assert counts(postgres, migrated) == (1, 4)


def test_invalid_json_reports_line_and_column(migrated: Project, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "version": 1,\n  "questions": [\n    {"id": "AML-0001",}\n  ]\n}\n')
    result = migrated.run("seed", "--file", str(broken))
    assert result.returncode == 1
    assert "line 4, column 23: invalid JSON" in result.stderr


def test_dry_run_writes_nothing(migrated: Project, postgres: PostgresServer) -> None:
    report = seed(migrated, "--dry-run")
    assert report["dry_run"] is True and report["created"] == len(load_bank(SHIPPED_BANK))
    assert counts(postgres, migrated) == (0, 0)


def test_missing_questions_are_reported_and_pruned_only_when_asked(
    migrated: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    seed(migrated, "--file", str(write_bank(tmp_path / "all.json", [question(1), question(2), question(3)])))
    smaller = write_bank(tmp_path / "smaller.json", [question(1)])
    report = seed(migrated, "--file", str(smaller))
    assert (report["missing"], report["deactivated"]) == (2, 0)
    assert postgres.psql("SELECT count(*) FROM questions WHERE active", url=migrated.database_url) == "3"

    pruned = seed(migrated, "--file", str(smaller), "--prune")
    assert pruned["deactivated"] == 2
    assert (
        postgres.psql(
            "SELECT string_agg(id, ',' ORDER BY id) FROM questions WHERE NOT active", url=migrated.database_url
        )
        == "AML-0002,AML-0003"
    )
    assert counts(postgres, migrated)[0] == 3  # deactivated, never deleted

    back = seed(migrated, "--file", str(tmp_path / "all.json"))
    assert back["updated"] == 2  # reactivated
    assert postgres.psql("SELECT count(*) FROM questions WHERE active", url=migrated.database_url) == "3"


def test_questions_stored_under_any_id_are_reported_and_pruned(
    migrated: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Ids written by other means (spaces, line breaks) do not confuse the seed's reading of the table."""
    bank = write_bank(tmp_path / "bank.json", [question(1)])
    seed(migrated, "--file", str(bank))
    postgres.psql(
        "INSERT INTO questions (id, domain, topic, stem, explanation, difficulty, tags, reference, content_hash,"
        " updated_at) SELECT E'odd id\\nAML-0001 x', domain, topic, stem, explanation, difficulty, tags, reference,"
        " content_hash, now() FROM questions",
        url=migrated.database_url,
    )
    report = seed(migrated, "--file", str(bank), "--prune")
    assert (report["unchanged"], report["missing_ids"], report["deactivated"]) == (1, ["odd id\nAML-0001 x"], 1)
    assert postgres.psql("SELECT count(*) FROM questions WHERE active", url=migrated.database_url) == "1"


def large_bank(path: Path, size: int) -> Path:
    return write_bank(path, [question(number, explanation="x" * 400) for number in range(1, size + 1)])


def test_a_seed_killed_midway_leaves_the_previous_state(
    migrated: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    seed(migrated, "--file", str(write_bank(tmp_path / "small.json", [question(1)])))
    bank = large_bank(tmp_path / "large.json", 30_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "acams_db", "seed", "--file", str(bank)],
        cwd=migrated.root,
        env=migrated.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Wait until the seed holds its lock, i.e. is inside its transaction and writing.
    lock_held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    deadline = time.monotonic() + 60
    while postgres.psql(lock_held, url=migrated.database_url) == "0":
        assert process.poll() is None and time.monotonic() < deadline, "seed finished or never started writing"
        time.sleep(0.05)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30
    while postgres.psql(lock_held, url=migrated.database_url) != "0" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert counts(postgres, migrated) == (1, 4)

    report = seed(migrated, "--file", str(bank))
    assert (report["created"], report["updated"]) == (29_999, 1)
    assert counts(postgres, migrated) == (30_000, 120_000)


def test_two_seeds_at_once_serialise(migrated: Project, postgres: PostgresServer) -> None:
    reports = migrated.run_at_once(2, "seed")
    size = len(load_bank(SHIPPED_BANK))
    assert sorted((r["created"], r["unchanged"]) for r in reports) == [(0, size), (size, 0)]
    assert counts(postgres, migrated) == (size, 4 * size)


def test_production_script_runs_the_same_seed(migrated: Project) -> None:
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "seed.py"), "--dry-run", "--json"],
        cwd=migrated.root,
        env=migrated.environment(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["created"] == len(load_bank(SHIPPED_BANK))


def test_line_separators_and_other_unicode_are_stored_exactly(
    migrated: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Texts with U+2028, U+2029 and U+0085 (line breaks to Python, not to JSON) and other non-ASCII arrive intact."""
    stem = 'Line\u2028separator, paragraph\u2029separator, next\x85line, ünïcødé ✓ 😀 "quoted" \\ ?'
    seed(migrated, "--file", str(write_bank(tmp_path / "bank.json", [question(1, stem=stem)])))
    stored = postgres.psql(
        "SELECT encode(convert_to(stem, 'UTF8'), 'hex') FROM questions WHERE id = 'AML-0001'", url=migrated.database_url
    )
    assert bytes.fromhex(stored).decode() == stem
    assert seed(migrated, "--file", str(tmp_path / "bank.json"))["unchanged"] == 1


def test_questions_edited_in_the_database_are_restored_from_the_file(
    migrated: Project, postgres: PostgresServer, tmp_path: Path
) -> None:
    """Edits made by other means than the seed (SQL here, Prisma Studio alike) to a question or to its options
    make the next seed write the file's version again: afterwards the database holds what the file says."""
    bank = write_bank(tmp_path / "bank.json", [question(number) for number in range(1, 6)])
    seed(migrated, "--file", str(bank))
    expected = stored_questions(postgres, migrated)
    for edit in (
        "UPDATE questions SET stem = 'edited in Studio' WHERE id = 'AML-0001'",
        "UPDATE questions SET tags = '{other}', updated_at = now() WHERE id = 'AML-0002'",
        "UPDATE answer_options SET text = 'edited' WHERE question_id = 'AML-0003' AND label = 'B'",
        "DELETE FROM answer_options WHERE question_id = 'AML-0004' AND label = 'D'",
        "INSERT INTO answer_options (question_id, label, text, is_correct) VALUES ('AML-0005', 'E', 'new', false)",
    ):
        postgres.psql(edit, url=migrated.database_url)
    report = seed(migrated, "--file", str(bank))
    assert (report["validated"], report["updated"], report["unchanged"]) == (True, 5, 0)
    assert stored_questions(postgres, migrated) == expected
    assert seed(migrated, "--file", str(bank))["validated"] is False  # unchanged again: the quick path


def test_synthetic_banks_use_ids_the_real_bank_does_not(tmp_path: Path) -> None:
    """scripts/generate_bank.py numbers from AML-9000001, a range the schema reserves for synthetic banks."""
    out = tmp_path / "synthetic.json"
    subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "generate_bank.py"), "--count", "3", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert load_bank(out).ids == ["AML-9000001", "AML-9000002", "AML-9000003"]
    assert all(int(question_id.removeprefix("AML-")) < 9_000_000 for question_id in load_bank(SHIPPED_BANK).ids)
