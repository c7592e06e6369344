"""SQL analysis on PostgreSQL's own parse tree: statement kinds, lines and the risks review and lint report."""

from __future__ import annotations

import pytest

from acams_db.migrations.breaking_note import breaking_notes
from acams_db.sql.parsing import Kind, SqlSyntaxError, parse
from acams_db.sql.relations import created_tables
from acams_db.sql.rules import find_risks


def rules(sql: str, new_tables: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    return [(risk.line, risk.rule) for risk in find_risks(parse(sql), new_tables)]


def test_statements_carry_the_line_they_start_on() -> None:
    """Lines count from 1 and skip the comments and blank lines before a statement; offsets are characters."""
    parsed = parse("-- CreateTable\nCREATE TABLE a (x text DEFAULT 'ééé');\n\n/* c */\nINSERT INTO a VALUES ('é');\n")
    assert [(s.line, s.kinds) for s in parsed.statements] == [
        (2, frozenset({Kind.SCHEMA})),
        (5, frozenset({Kind.DATA})),
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO notes (body) VALUES ('CREATE TABLE x (id int); DROP TABLE users;')",
        "UPDATE notes SET body = $$ALTER TABLE users DROP COLUMN email$$",
        "-- ALTER TABLE users ADD COLUMN x int;\nDELETE FROM notes WHERE body = 'x'",
        "/* DROP TABLE users; */ UPDATE notes SET body = E'\\'; CREATE INDEX i ON t (x)'",
    ],
)
def test_keywords_in_strings_and_comments_are_not_statements(sql: str) -> None:
    """DDL words inside string literals, dollar quotes and comments leave a data statement a data statement."""
    parsed = parse(sql)
    assert [statement.kinds for statement in parsed.statements] == [frozenset({Kind.DATA})]
    assert not [risk for risk in find_risks(parsed) if risk.destructive]


def test_a_function_body_is_schema_not_data() -> None:
    """CREATE FUNCTION only defines its body: the UPDATE inside does not run."""
    parsed = parse("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN UPDATE t SET a = 1; END$$;")
    assert parsed.lines_of(Kind.DATA) == []
    assert parsed.lines_of(Kind.SCHEMA) == [1]


def test_a_do_block_is_classified_by_the_statements_it_runs() -> None:
    """A DO block runs its statements now: PL/pgSQL's parser finds them, with the DO's line."""
    parsed = parse(
        "SELECT 1;\nDO $$\nBEGIN\n"
        "  IF true THEN ALTER TABLE t ADD COLUMN c int; END IF;\n  UPDATE t SET c = 1;\nEND $$;"
    )
    assert parsed.lines_of(Kind.SCHEMA) == [2]
    assert parsed.lines_of(Kind.DATA) == [1, 2]


def test_execute_in_a_do_block_cannot_be_checked() -> None:
    parsed = parse("DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'users'; END $$;")
    assert parsed.opaque_lines == (1,)
    assert rules("DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'users'; END $$;") == [(1, "dynamic-sql")]


def test_transaction_control_and_settings_are_neither_schema_nor_data() -> None:
    parsed = parse("BEGIN;\nSET LOCAL lock_timeout = '5s';\nLOCK TABLE t;\nCOMMIT;")
    assert all(statement.kinds == frozenset() for statement in parsed.statements)


def test_create_table_as_is_both_schema_and_data() -> None:
    assert parse("CREATE TABLE b AS SELECT * FROM a").statements[0].kinds == {Kind.SCHEMA, Kind.DATA}
    assert parse("CREATE TABLE b AS SELECT * FROM a WITH NO DATA").statements[0].kinds == {Kind.SCHEMA}


def test_syntax_error_reports_its_line() -> None:
    with pytest.raises(SqlSyntaxError) as raised:
        parse("CREATE TABLE a (id int);\n\nCREATE TABL b (id int);")
    assert raised.value.line == 3
    assert "TABL" in raised.value.reason


@pytest.mark.parametrize(
    ("sql", "rule", "destructive"),
    [
        ('DROP TABLE "users";', "drop-table", True),
        ('ALTER TABLE "users" DROP COLUMN "name";', "drop-column", True),
        ('DROP TYPE "Role";', "drop-type", True),
        ('DROP INDEX "users_email_key";', "drop-index", False),
        ("DROP SCHEMA legacy CASCADE;", "drop-object", True),
        ('ALTER TABLE "users" ADD COLUMN "badge" TEXT NOT NULL;', "not-null-without-default", False),
        ('ALTER TABLE "users" ALTER COLUMN "last_login_at" SET NOT NULL;', "set-not-null", False),
        ('ALTER TABLE "users" ALTER COLUMN "name" SET DATA TYPE VARCHAR(5);', "type-change", True),
        ('ALTER TABLE "users" ADD CONSTRAINT "users_name_key" UNIQUE ("name");', "unique-constraint", False),
        ('ALTER TABLE "users" RENAME COLUMN "name" TO "full_name";', "rename", True),
        ('ALTER TABLE "users" RENAME TO "people";', "rename", True),
        ("ALTER TYPE \"Role\" RENAME VALUE 'admin' TO 'administrator';", "rename", True),
        ('CREATE INDEX "users_name_idx" ON "users"("name");', "index-without-concurrently", False),
        ('ALTER TABLE "a" ADD CONSTRAINT "f" FOREIGN KEY ("b") REFERENCES "b"("id");', "long-lock", False),
        ('ALTER TABLE "users" ADD COLUMN "key" UUID DEFAULT gen_random_uuid();', "long-lock", False),
        ("VACUUM FULL users;", "long-lock", False),
        ('TRUNCATE "users";', "delete-all-rows", True),
        ('DELETE FROM "users";', "delete-all-rows", True),
        ('DELETE FROM "users" WHERE "role" = \'admin\';', "delete-rows", False),
    ],
)
def test_each_risk_is_found(sql: str, rule: str, destructive: bool) -> None:
    (risk,) = find_risks(parse(sql))
    assert (risk.rule, risk.destructive) == (rule, destructive)


def test_a_unique_index_warns_of_duplicates_and_of_the_lock() -> None:
    assert rules('CREATE UNIQUE INDEX "users_name_key" ON "users"("name");') == [
        (1, "unique-constraint"),
        (1, "index-without-concurrently"),
    ]


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "users" ADD COLUMN "badge" TEXT NOT NULL DEFAULT \'none\';',
        'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;',
        'ALTER TABLE "users" ADD COLUMN "seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;',
        'CREATE INDEX CONCURRENTLY "users_name_idx" ON "users"("name");',
        'ALTER TABLE "a" ADD CONSTRAINT "f" FOREIGN KEY ("b") REFERENCES "b"("id") NOT VALID;',
        'ALTER INDEX "a_idx" RENAME TO "b_idx";',
        'ALTER TABLE "users" RENAME CONSTRAINT "a" TO "b";',
    ],
)
def test_safe_statements_raise_nothing(sql: str) -> None:
    assert rules(sql) == []


def test_the_drop_in_a_comment_or_a_string_is_not_a_risk() -> None:
    assert rules("-- DROP TABLE users;\nSELECT 'DROP TABLE users';") == []


def test_tables_created_earlier_have_no_rows_to_check() -> None:
    """Index, NOT NULL and constraint checks skip tables created in this SQL or in earlier pending migrations."""
    sql = (
        'CREATE TABLE "notes" ("id" INT NOT NULL);\n'
        'CREATE UNIQUE INDEX "notes_id_key" ON "notes"("id");\n'
        'ALTER TABLE "widgets" ADD COLUMN "label" TEXT NOT NULL;\n'
    )
    assert rules(sql) == [(3, "not-null-without-default")]
    assert rules(sql, frozenset({"widgets"})) == []
    assert created_tables(parse(sql)) == {"notes"}


def test_row_counts_quote_identifiers() -> None:
    (risk,) = find_risks(parse('ALTER TABLE "Odd""Name" DROP COLUMN "Mixed Case";'))
    assert risk.row_count is not None
    assert risk.row_count.sql == 'SELECT count("Mixed Case") FROM "Odd""Name"'


def test_breaking_notes_are_real_comments() -> None:
    parsed = parse(
        "-- breaking: drops the unused legacy table\nSELECT '-- breaking: not a comment';\n/* breaking: x */"
    )
    assert breaking_notes(parsed) == [(1, "drops the unused legacy table"), (3, "x")]
