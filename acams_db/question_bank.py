"""The question bank file: loading, validation (all problems at once) and content hashes.

The format is data/questions.schema.json (JSON Schema, also used by editors);
what a schema cannot say (unique ids and labels, exactly one correct option)
is checked here.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from acams_db.errors import ToolchainError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "questions.schema.json"


@dataclass(slots=True)
class Option:
    label: str
    text: str
    correct: bool


@dataclass(slots=True)
class BankQuestion:
    id: str
    domain: str
    topic: str
    stem: str
    explanation: str
    difficulty: str
    tags: tuple[str, ...]
    reference: str
    options: tuple[Option, ...]
    content_hash: str


class BankError(ToolchainError):
    """The bank file is invalid; `problems` lists every problem found, each with its place."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{path}: {len(problems)} problem(s); nothing was written.\n{listing}")


def load_bank(path: Path) -> list[BankQuestion]:
    """Read and validate the whole file before anything uses it; raise BankError with every problem."""
    document = _parse(path)
    problems = [] if _is_valid(document) else _schema_problems(document)
    if isinstance(document, dict) and isinstance(document.get("questions"), list):
        problems += _consistency_problems(document["questions"])
    if problems:
        raise BankError(path, problems)
    entries = document["questions"]
    questions = []
    for index, entry in enumerate(entries):
        questions.append(_question(entry))
        entries[index] = None  # freed as converted: keeps the peak memory of a large bank down
    return questions


def _parse(path: Path) -> Any:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise ToolchainError(f"Cannot read the question bank {path}: {error.strerror}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BankError(path, [f"line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}"]) from error
    except UnicodeDecodeError as error:
        raise BankError(path, [f"byte {error.start}: not UTF-8 text"]) from error


@functools.cache
def _compiled_validator() -> Any:
    return fastjsonschema.compile(json.loads(SCHEMA_PATH.read_text()))


def _is_valid(document: Any) -> bool:
    """The fast check: a compiled validator, about twenty times quicker than listing problems."""
    try:
        _compiled_validator()(document)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def _schema_problems(document: Any) -> list[str]:
    """Every schema problem, with its JSON path (slow: only for a file known to be invalid)."""
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    return [f"{error.json_path}: {_expected(error)}" for error in errors]


def _expected(error: Any) -> str:
    """The schema error in words that say what was expected."""
    if error.validator == "pattern" and error.validator_value == r"\S":
        return "expected non-empty text"
    if error.validator == "pattern":
        return f"expected text matching {error.validator_value}, got {error.instance!r}"
    if error.validator == "enum":
        return f"expected one of {', '.join(map(str, error.validator_value))}, got {error.instance!r}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    return str(error.message)


def _consistency_problems(questions: list[dict[str, Any]]) -> list[str]:
    problems = []
    first_seen: dict[str, int] = {}
    for index, question in enumerate(questions):
        place = f"$.questions[{index}]"
        if question["id"] in first_seen:
            problems.append(
                f"{place}.id: duplicate id {question['id']!r} (first at $.questions[{first_seen[question['id']]}])"
            )
        first_seen.setdefault(question["id"], index)
        labels = [option["label"] for option in question["options"]]
        for duplicate in sorted({label for label in labels if labels.count(label) > 1}):
            problems.append(f"{place}.options: duplicate option label {duplicate!r}")
        correct = sum(1 for option in question["options"] if option["correct"])
        if correct != 1:
            problems.append(f"{place}.options: expected exactly one correct option, found {correct}")
    return problems


def _question(entry: dict[str, Any]) -> BankQuestion:
    options = tuple(Option(o["label"], o["text"], o["correct"]) for o in entry["options"])
    tags = tuple(entry["tags"])
    return BankQuestion(
        id=entry["id"],
        domain=entry["domain"],
        topic=entry["topic"],
        stem=entry["stem"],
        explanation=entry["explanation"],
        difficulty=entry["difficulty"],
        tags=tags,
        reference=entry["reference"],
        options=options,
        content_hash=content_hash(entry),
    )


def content_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the question's content in a fixed field order: equal content, equal hash."""
    canonical = [
        entry["id"],
        entry["domain"],
        entry["topic"],
        entry["stem"],
        entry["explanation"],
        entry["difficulty"],
        entry["tags"],
        entry["reference"],
        [[o["label"], o["text"], o["correct"]] for o in entry["options"]],
    ]
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
