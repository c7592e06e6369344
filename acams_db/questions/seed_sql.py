"""The seed's SQL: the statements seed.py runs, through Prisma Client Python and the engine like any query,
and the JSON of the questions they write."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from acams_db.questions.bank import Bank

# Two seeds started at once take turns on this PostgreSQL advisory lock (an
# arbitrary number reserved for the seed); the second then finds nothing to do.
SEED_LOCK_KEY = 4_243_511
# The seed's transaction: the lock, and the mark that keeps the triggers of migration
# 20261129_220710_reset_content_hash_on_outside_edits from taking the seed's writes for edits made by other means.
BEGIN_SEED = "SELECT pg_advisory_xact_lock($1), set_config('acams.seeding', 'on', true)"

# The table's questions: how many, whether all are active, and Bank.questions_digest of them (SHA-256 of
# "<length of id>:<id><hash>" in code point order of the ids, COLLATE "C"); and whether a seed of the file
# with SHA-256 $1, validated by validator $2, recorded that same digest.
TABLE_STATE = """
WITH stored AS (
  SELECT encode(sha256(convert_to(coalesce(string_agg(
           length(id) || ':' || id || content_hash, '' ORDER BY id COLLATE "C"), ''), 'UTF8')), 'hex') AS digest,
         coalesce(bool_and(active), true) AS all_active,
         count(*)::integer AS questions
  FROM questions
)
SELECT stored.*, EXISTS (
  SELECT FROM question_bank_seeds AS seed
  WHERE seed.file_sha256 = $1 AND seed.validator = $2 AND seed.questions_digest = stored.digest
) AS seeded_before
FROM stored
"""

# content_hash is char(64); the active flag is one character.
ACTIVE_FLAG = "CASE WHEN active THEN 't' ELSE 'f' END"
# Every stored question: the ids as a JSON array, and their hashes and flags as one text of 65 characters each.
# Two values: far cheaper through the engine and the client than a row per question.
STORED_QUESTIONS = f"""
SELECT coalesce(json_agg(id ORDER BY id), '[]') AS ids,
       coalesce(string_agg(content_hash || {ACTIVE_FLAG}, '' ORDER BY id), '') AS states
FROM questions
"""
STATE_LENGTH = 65


class _QuestionRow(msgspec.Struct, array_like=True):
    """A question as the statements below read it: a JSON array of these fields in this order, its options
    as [label, text, correct]. Without keys, a quarter less reaches the engine (quotes are escaped thrice)."""

    id: str
    domain: str
    topic: str
    stem: str
    explanation: str
    difficulty: str
    tags: list[str]
    reference: str
    content_hash: str
    options: list[tuple[str, str, bool]]


# One statement per chunk of questions, all of them as one JSON parameter (_QuestionRow arrays): through
# Prisma Client Python and the engine like any query, without a query per question. The questions' columns,
# then their options.
CHUNK_TABLES = """
  chunk AS (
    SELECT q->>0 AS id, (q->>1)::"ExamDomain" AS domain, q->>2 AS topic, q->>3 AS stem, q->>4 AS explanation,
           (q->>5)::"Difficulty" AS difficulty, ARRAY(SELECT jsonb_array_elements_text(q->6)) AS tags,
           q->>7 AS reference, q->>8 AS content_hash, q->9 AS options
    FROM jsonb_array_elements($1::jsonb) AS q
  ),
  chunk_options AS (
    SELECT chunk.id AS question_id, o->>0 AS label, o->>1 AS text, (o->>2)::boolean AS correct
    FROM chunk, jsonb_array_elements(chunk.options) AS o
  )"""
# New questions (none in the table when the plan was made, under the seed's lock): plain inserts.
CREATE_QUESTIONS = f"""
WITH {CHUNK_TABLES},
  created AS (
    INSERT INTO questions
      (id, domain, topic, stem, explanation, difficulty, tags, reference, active, content_hash, created_at, updated_at)
    SELECT id, domain, topic, stem, explanation, difficulty, tags, reference, true, content_hash,
           now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
    FROM chunk
  )
INSERT INTO answer_options (question_id, label, text, is_correct)
SELECT question_id, label, text, correct FROM chunk_options
"""
# Changed (or reactivated) questions. Options are keyed by (question, label), so an edited option keeps its
# row and the attempts that chose it; options whose label left the question are deleted.
UPDATE_QUESTIONS = f"""
WITH {CHUNK_TABLES},
  updated AS (
    UPDATE questions SET
      domain = chunk.domain, topic = chunk.topic, stem = chunk.stem, explanation = chunk.explanation,
      difficulty = chunk.difficulty, tags = chunk.tags, reference = chunk.reference, active = true,
      content_hash = chunk.content_hash, updated_at = now() AT TIME ZONE 'UTC'
    FROM chunk WHERE questions.id = chunk.id
  ),
  removed AS (
    DELETE FROM answer_options AS stored USING chunk
    WHERE stored.question_id = chunk.id
      AND NOT EXISTS (SELECT FROM chunk_options AS kept WHERE kept.question_id = chunk.id AND kept.label = stored.label)
  )
INSERT INTO answer_options (question_id, label, text, is_correct)
SELECT question_id, label, text, correct FROM chunk_options
ON CONFLICT (question_id, label) DO UPDATE SET text = EXCLUDED.text, is_correct = EXCLUDED.is_correct
WHERE (answer_options.text, answer_options.is_correct) IS DISTINCT FROM (EXCLUDED.text, EXCLUDED.is_correct)
"""

_ENCODER = msgspec.json.Encoder()


def rows_json(bank: Bank, indexes: Sequence[int]) -> str:
    """The questions of `bank` at `indexes`, as the parameter of CREATE_QUESTIONS and UPDATE_QUESTIONS."""
    rows = [
        _QuestionRow(
            id=q.id,
            domain=q.domain,
            topic=q.topic,
            stem=q.stem,
            explanation=q.explanation,
            difficulty=q.difficulty,
            tags=q.tags,
            reference=q.reference,
            content_hash=bank.content_hashes[index],
            options=[(o.label, o.text, o.correct) for o in q.options],
        )
        for index, q in zip(indexes, bank.questions(indexes), strict=True)
    ]
    return _json_line_breaks_escaped(_ENCODER.encode(rows).decode())


# Prisma Client Python indents the query it builds with textwrap.indent, which also breaks lines at these
# characters: a raw one inside a parameter came to the database followed by spaces. Escaped, it travels intact.
_LINE_BREAKS_KEPT_BY_JSON = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_line_breaks_escaped(text: str) -> str:
    """`text`, JSON, with the line breaks JSON leaves raw written as \\u escapes (the same JSON value)."""
    for character, escape in _LINE_BREAKS_KEPT_BY_JSON.items():
        text = text.replace(character, escape)
    return text
