"""The bank file's format in Python: the typed records of a question, the schema's patterns, content hashes.

The format is data/questions.schema.json (JSON Schema, also used by editors).
The records mirror the schema (tests/test_bank_validation.py holds them to
it); msgspec decodes each question of a valid bank into them (bank.py).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

import msgspec

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "data" / "questions.schema.json"

# The schema's patterns (tests/test_bank_validation.py holds them to it), written to mean the same under Python's
# re.search and under the ECMA-262 regular expressions of JSON Schema validators. `(?!\n)$`: Python's `$` also
# matches before a final line break, ECMA-262's does not. The id's is applied by msgspec, the tags' by is_tag
# (bank.py asks once per distinct tag: a bank has few), the texts' by is_storable_visible_text.
ID_PATTERN = r"^AML-[0-9]{4,7}(?!\n)$"
TAG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*(?!\n)$"
# Text PostgreSQL can store: no U+0000, and no unpaired surrogate (a "\ud800" escape alone); a pair is a character.
STORABLE_TEXT_PATTERN = r"^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$"
# Characters that show nothing: white space in Python's and in ECMA-262's sense, control characters, and the
# zero-width, filler and other default-ignorable characters of the Basic Multilingual Plane. Non-empty text
# has at least one other character.
INVISIBLE_CHARACTERS = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f"
    r"\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
)
VISIBLE_TEXT_PATTERN = f"[^{INVISIBLE_CHARACTERS}]"

QuestionId = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
_TAG = re.compile(TAG_PATTERN)
_VISIBLE = re.compile(VISIBLE_TEXT_PATTERN)


def is_tag(text: str) -> bool:
    return _TAG.search(text) is not None


def is_storable_visible_text(text: str) -> bool:
    """The schema's nonEmptyText: STORABLE_TEXT_PATTERN (msgspec refuses unpaired surrogates itself) and
    VISIBLE_TEXT_PATTERN, searched for only when the text does not begin with printable ASCII (rare)."""
    return "\x00" not in text and ("!" <= text[:1] <= "~" or _VISIBLE.search(text) is not None)


# gc=False: these records hold no cycles, and the collector need not track millions of them.
class Option(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    label: Literal["A", "B", "C", "D", "E", "F"]
    # Non-empty texts (the schema's nonEmptyText) are checked by is_storable_visible_text.
    text: str
    correct: bool


class BankQuestion(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: QuestionId
    domain: Literal["risks_and_methods", "standards", "compliance_programs", "investigations"]
    topic: str
    stem: str
    options: Annotated[list[Option], msgspec.Meta(min_length=2, max_length=6)]
    explanation: str
    difficulty: Literal["easy", "medium", "hard"]
    # Unique tags (the schema's uniqueItems) are checked and their pattern applied by bank.py.
    tags: Annotated[list[str], msgspec.Meta(min_length=1, max_length=6)]
    reference: str


_ENCODER = msgspec.json.Encoder()


def content_hash(question: BankQuestion) -> str:
    """SHA-256 of the question's content in a fixed field order: equal content, equal hash.

    The bytes are those of json.dumps(ensure_ascii=False, separators=(",", ":")) on the same list,
    which earlier versions hashed: hashes stored by them stay valid.
    """
    canonical = [
        question.id,
        question.domain,
        question.topic,
        question.stem,
        question.explanation,
        question.difficulty,
        question.tags,
        question.reference,
        [[option.label, option.text, option.correct] for option in question.options],
    ]
    return hashlib.sha256(_ENCODER.encode(canonical)).hexdigest()
