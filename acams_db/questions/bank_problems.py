"""Every problem of an invalid bank file, each with its place: its line and column when it is not JSON, else
its JSON path. Slow (the standard library's parser and jsonschema): only for a file the fast validation of
bank.py refused, and for the few rules beyond the schema, which bank.py shares.
"""

from __future__ import annotations

import codecs
import json
import re
import reprlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from acams_db.questions.bank_format import (
    ID_PATTERN,
    SCHEMA_PATH,
    STORABLE_TEXT_PATTERN,
    TAG_PATTERN,
    VISIBLE_TEXT_PATTERN,
)


class JsonObject(dict[str, Any]):
    """A JSON object as json.loads gives it, with the keys it names more than once (the last value is kept)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.repeated = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)


def repeated_keys(document: Any) -> list[str]:
    """'<JSON path>: …' for every object of `document` that names a key more than once (walked without recursion:
    the document may be deeply nested)."""
    problems, pending = [], [("$", document)]
    while pending:
        place, value = pending.pop()
        if isinstance(value, JsonObject):
            problems += [f"{place}: expected each key once, got {key!r} more than once" for key in value.repeated]
            pending += [(_child_path(place, key), child) for key, child in value.items()]
        elif isinstance(value, list):
            pending += [(f"{place}[{index}]", child) for index, child in enumerate(value)]
    return sorted(problems)


def _child_path(place: str, key: str) -> str:
    # JSON paths as jsonschema writes them: .name for plain names, ['name'] otherwise.
    return f"{place}.{key}" if key.isidentifier() else f"{place}[{key!r}]"


def all_problems(data: bytes) -> list[str]:
    """Every problem of an invalid file: not JSON, with its line and column, else every schema problem, every key
    given twice and every broken rule beyond the schema, each with its JSON path (slow: only for a file known
    to be invalid)."""
    document, problem = _parsed(data)
    if problem:
        return [problem]
    # Imported here: only an invalid bank needs it, and it takes a twentieth of a second to import.
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    errors = sorted(validator.iter_errors(document), key=lambda error: [str(part) for part in error.absolute_path])
    problems = [f"{error.json_path}: {_expected(error)}" for error in errors]
    problems += repeated_keys(document)
    if isinstance(document, dict) and isinstance(document.get("questions"), list):
        problems += _consistency_problems(document["questions"])
    return problems


# The format's deepest value (an option, in an array in a question, in an array in the file) is 5 levels deep.
_DEEPEST = 5


def _parsed(data: bytes) -> tuple[Any, str | None]:
    """The JSON document in `data`, or the reason it is none, at its line and column."""
    if data.startswith(codecs.BOM_UTF8):
        return None, "line 1, column 1: expected JSON text, found a UTF-8 byte order mark (save without one)"
    try:
        text = data.decode()
    except UnicodeDecodeError as error:
        return None, f"{_place(data, error.start)}: expected UTF-8 text, found the byte 0x{data[error.start]:02X}"
    try:
        return json.loads(text, object_pairs_hook=JsonObject, parse_constant=_refuse, parse_int=_integer), None
    except json.JSONDecodeError as error:
        return None, f"line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}"
    except RecursionError:
        return None, f"{_place(data, _too_deep(data))}: expected at most {_DEEPEST} levels of arrays and objects"
    except _NotJsonConstant as error:
        return None, f"{_place(data, _constant_at(data, str(error)))}: invalid JSON: {error} is not a JSON value"


class _NotJsonConstant(ValueError):
    pass


def _refuse(name: str) -> Any:
    raise _NotJsonConstant(name)


def _integer(digits: str) -> int | float:
    # Python refuses to convert integers of more than 4,300 digits; as a float, such a number is infinite.
    return int(digits) if len(digits) < 4000 else float(digits)


def _place(data: bytes, offset: int) -> str:
    """'line L, column C' of the byte at `offset` (columns count characters, from 1)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode(errors="replace")) + 1
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, column {column}"


# A JSON string (as the only place where brackets and the words NaN and Infinity mean nothing) or a bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]|-?Infinity|NaN', re.DOTALL)


def _too_deep(data: bytes) -> int:
    """The offset of the first array or object nested deeper than the format's deepest value."""
    depth = 0
    for token in _TOKENS.finditer(data):
        kind = token.group()[:1]
        depth += 1 if kind in b"[{" else -1 if kind in b"]}" else 0
        if depth > _DEEPEST:
            return token.start()
    return 0


def _constant_at(data: bytes, name: str) -> int:
    """The offset of the first `name` (NaN or Infinity) outside strings."""
    return next((token.start() for token in _TOKENS.finditer(data) if token.group() == name.encode()), 0)


def _short_repr() -> reprlib.Repr:
    """Values in problems are shortened: a text may be megabytes long, an array deeply nested."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = 60
    short.maxlist = short.maxdict = 4
    short.maxlevel = 2
    return short


_SHORT = _short_repr()
PATTERN_WORDS = {
    ID_PATTERN: "expected an id of AML- and 4 to 7 digits, nothing before or after",
    TAG_PATTERN: "expected a lower-case kebab-case tag (like trade-based-ml), nothing before or after",
    STORABLE_TEXT_PATTERN: "expected text without U+0000 or an unpaired surrogate (PostgreSQL stores neither)",
    VISIBLE_TEXT_PATTERN: "expected non-empty text (a visible character, not only spaces or zero-width ones)",
}


def _expected(error: Any) -> str:
    """The schema error in words that say what was expected, and what was found (shortened)."""
    got = _SHORT.repr(error.instance)
    if error.validator == "pattern":
        return (
            f"{PATTERN_WORDS.get(error.validator_value, 'expected text matching ' + error.validator_value)}, got {got}"
        )
    if error.validator == "enum":
        return f"expected one of {', '.join(map(str, error.validator_value))}, got {got}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__} {got}"
    if error.validator == "const":
        return f"expected {error.validator_value}, got {got}"
    if error.validator in ("minItems", "maxItems"):
        bounds = error.schema.get("minItems", 0), error.schema.get("maxItems", "any number of")
        return f"expected {bounds[0]} to {bounds[1]} items, got {len(error.instance)}"
    if error.validator == "uniqueItems":
        return f"expected unique items, got {got}"
    return str(error.message)


def _consistency_problems(questions: list[Any]) -> list[str]:
    """The rules beyond the schema, on the parsed JSON of a file that may break the schema too."""
    ids, problems = [], []
    for index, question in enumerate(questions):
        entry = question if isinstance(question, dict) else {}
        ids.append(entry.get("id"))
        options = entry.get("options")
        if isinstance(options, list):
            parts = [option if isinstance(option, dict) else {} for option in options]
            problems += option_problems(index, [o.get("label") for o in parts], [o.get("correct") for o in parts])
    return ordered(duplicate_id_problems(ids) + problems)


def duplicate_id_problems(ids: Sequence[object]) -> list[str]:
    first_seen: dict[str, int] = {}
    problems = []
    for index, question_id in enumerate(ids):
        if not isinstance(question_id, str):
            continue
        first = first_seen.setdefault(question_id, index)
        if first != index:
            problems.append(f"$.questions[{index}].id: duplicate id {question_id!r} (first at $.questions[{first}])")
    return problems


def option_problems(index: int, labels: Sequence[object], correct: Sequence[object]) -> list[str]:
    place = f"$.questions[{index}].options"
    problems = []
    hashable = [label for label in labels if isinstance(label, str)]
    for duplicate in sorted({label for label in hashable if hashable.count(label) > 1}):
        problems.append(f"{place}: duplicate option label {duplicate!r}")
    found = sum(1 for value in correct if value is True)
    if found != 1:
        problems.append(f"{place}: expected exactly one correct option, found {found}")
    return problems


def ordered(problems: list[str]) -> list[str]:
    """Problems in the order of the questions they concern."""

    def question_index(problem: str) -> int:
        return int(problem.partition("[")[2].partition("]")[0])

    return sorted(problems, key=question_index)
