"""The bank's validation, without a database: the Python validator accepts exactly the files that
data/questions.schema.json accepts under ECMA-262 regular expressions (as JSON Schema validators apply them), and
words every problem of a refused file in one line with its place."""

from __future__ import annotations

import hashlib
import json
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError, validators

from acams_db.errors import ToolchainError
from acams_db.questions import bank_format
from acams_db.questions.background_validation import BankValidation
from acams_db.questions.bank import BankError, load_bank
from acams_db.runtime.processes import dies_with_this_process
from tests.test_seed import SCHEMA, SHIPPED_BANK, question, write_bank

# --- the reference: the schema under ECMA-262 regular expressions ------------

# Node's RegExp is ECMA-262's. Each line in: [pattern, flags, text]; each line out: 1 when it matches, else 0.
REGEXP_ANSWERER = """
const lines = require('node:readline').createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [pattern, flags, text] = JSON.parse(line);
  process.stdout.write(new RegExp(pattern, flags).test(text) ? '1\\n' : '0\\n');
});
"""


class EcmaRegExp:
    """A Node process answering whether ECMA-262 regular expressions match texts."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", "-e", REGEXP_ANSWERER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_this_process(),
        )

    def search(self, pattern: str, text: str, flags: str) -> bool:
        assert self.process.stdin is not None and self.process.stdout is not None
        # ensure_ascii: an unpaired surrogate travels as its \\ud800 escape, and JSON.parse gives it back as one.
        self.process.stdin.write(json.dumps([pattern, flags, text]) + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline() == "1\n"

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def ecma() -> Iterator[EcmaRegExp]:
    regexp = EcmaRegExp()
    yield regexp
    regexp.close()


def ecma_validator(ecma: EcmaRegExp, flags: str) -> Any:
    """jsonschema's 2020-12 validator with `pattern` applied by ECMA-262 (jsonschema itself uses Python's re)."""

    def pattern(validator: Any, value: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not ecma.search(value, instance, flags):
            yield ValidationError(f"{instance!r} does not match {value!r}")

    validator_class = validators.extend(Draft202012Validator, {"pattern": pattern})
    return validator_class(json.loads(SCHEMA.read_text()))


class RepeatedKey(ValueError):
    pass


def no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise RepeatedKey(keys)
    return dict(pairs)


def refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def reference_verdict(data: bytes, validator: Any) -> bool:
    """Whether `data` is a valid bank by the book: strict UTF-8 JSON (RFC 8259: no byte order mark, no NaN, each
    key once), numbers as ECMA-262's doubles, valid against the schema, and the rules it cannot express."""
    try:
        document = json.loads(
            data.decode("utf-8"), object_pairs_hook=no_repeated_keys, parse_constant=refuse_constant, parse_int=float
        )
    except RecursionError:
        return False  # nested deeper than Python's parser goes: far deeper than the schema's 5 levels
    except ValueError:  # not UTF-8, not JSON, a key repeated
        return False
    if not validator.is_valid(document):
        return False
    questions = document["questions"]
    ids = [entry["id"] for entry in questions]
    labels_unique = all(len({o["label"] for o in q["options"]}) == len(q["options"]) for q in questions)
    one_correct = all(sum(o["correct"] for o in q["options"]) == 1 for q in questions)
    return len(set(ids)) == len(ids) and labels_unique and one_correct


# --- the cases ---------------------------------------------------------------


def bank_document(questions: Any, **fields: Any) -> dict[str, Any]:
    return {"$schema": "questions.schema.json", "version": 1, "questions": questions, **fields}


def without(entry: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in entry.items() if name != key}


def option(label: str = "B", text: str = "Wrong", correct: Any = False, **changes: Any) -> dict[str, Any]:
    return {"label": label, "text": text, "correct": correct, **changes}


def options_with(*extra: Any) -> list[Any]:
    return [option("A", "Right", True), *extra]


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


VALID = encoded(bank_document([question(1)]))


def one_question(**fields: Any) -> bytes:
    """A bank of question 1 with `fields` changed (or added)."""
    return encoded(bank_document([question(1, **fields)]))


def edited(old: str | bytes, new: str | bytes, data: bytes = VALID) -> bytes:
    """`data` with its first `old` replaced by `new` (raw JSON text, for what json.dumps cannot write)."""
    old_bytes, new_bytes = (text.encode() if isinstance(text, str) else text for text in (old, new))
    assert old_bytes in data
    return data.replace(old_bytes, new_bytes, 1)


def stem(raw_json: str | bytes) -> bytes:
    """A valid bank whose first stem is the raw JSON value `raw_json`."""
    return edited('"Question 1?"', raw_json)


# Zero-width, invisible and white-space characters, and their visible neighbours.
INVISIBLE_SAMPLES = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\u061c\u180e\u3164\uffa0\u115f\ufe0f\u202e\u2066"
BORDER_SAMPLES = "\u0021\u007e\u00a1\u00ae\u0350\u061d\u2010\u2030\u2070\u3001\u3165\uffa1\ufff9\U0001f600"

# Each case either breaks a rule of the format (schema or beyond) or sits just inside it.
CASES: dict[str, bytes] = {
    "valid": VALID,
    "the shipped bank": SHIPPED_BANK.read_bytes(),
    "version 1.0": encoded(bank_document([question(1)], version=1.0)),
    "version 1e0": edited('"version": 1', '"version": 1e0'),
    "version 1.0000000000000001 (1 as a double)": edited('"version": 1', '"version": 1.0000000000000001'),
    "version 2": encoded(bank_document([question(1)], version=2)),
    "version true": encoded(bank_document([question(1)], version=True)),
    "version text": encoded(bank_document([question(1)], version="1")),
    "version null": encoded(bank_document([question(1)], version=None)),
    "version 1e400": edited('"version": 1', '"version": 1e400'),
    "version of 5,000 digits": edited('"version": 1', '"version": ' + "9" * 5000),
    "version -0": edited('"version": 1', '"version": -0'),
    "version NaN": edited('"version": 1', '"version": NaN'),
    "version Infinity": edited('"version": 1', '"version": Infinity'),
    "stem -Infinity": stem("-Infinity"),
    "no version": encoded(without(bank_document([question(1)]), "version")),
    "no $schema": encoded(without(bank_document([question(1)]), "$schema")),
    "$schema a number": encoded(bank_document([question(1)], **{"$schema": 5})),
    "$schema with U+0000": edited('"questions.schema.json"', '"questions\\u0000.json"'),
    "$schema with an unpaired surrogate": edited('"questions.schema.json"', '"questions\\udc00.json"'),
    "$schema with escaped quotes": edited('"questions.schema.json"', '"\\"quoted\\".json"'),
    "unknown top-level field": encoded(bank_document([question(1)], extra=True)),
    "top-level key in other case": edited('"version"', '"Version"'),
    "top-level array": encoded([question(1)]),
    "top-level string": b'"questions"',
    "top-level null": b"null",
    "empty file": b"",
    "only white space": b" \n\t\r\n",
    "trailing garbage": VALID + b" x",
    "trailing comma": edited("}]}", "},]}"),
    "two documents": VALID + VALID,
    "a comment": b"// bank\n" + VALID,
    "single quotes": edited('"version"', "'version'"),
    "CRLF line ends": json.dumps(bank_document([question(1)]), indent=2).replace("\n", "\r\n").encode(),
    "a UTF-8 byte order mark": b"\xef\xbb\xbf" + VALID,
    "UTF-16": json.dumps(bank_document([question(1)])).encode("utf-16"),
    "Latin-1 bytes": json.dumps(bank_document([question(1, stem="Café?")]), ensure_ascii=False).encode("latin-1"),
    "invalid UTF-8 in a key": edited(b'"topic"', b'"top\xffic"'),
    "overlong UTF-8": stem(b'"\xc0\xaf"'),
    "an encoded surrogate (CESU-8)": stem(b'"a\xed\xa0\x80b"'),
    "no questions": encoded(bank_document([])),
    "questions an object": encoded(bank_document({})),
    "questions null": encoded(bank_document(None)),
    "question a list": encoded(bank_document([[]])),
    "question a string": encoded(bank_document(["AML-0001"])),
    "deeply nested question": encoded(bank_document([])).replace(b"[]", b"[" * 100_000 + b"]" * 100_000),
    "nested 6 deep": one_question(tags=[["fatf"]]),
    "nested 50 deep": one_question(tags=[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]),
    "ids differing by a final line break": encoded(bank_document([question(1), question(1, id="AML-0001\n")])),
    "id repeated": encoded(bank_document([question(1), question(1)])),
    "id of 3 digits": one_question(id="AML-123"),
    "id of 7 digits": one_question(id="AML-1234567"),
    "id of 8 digits": one_question(id="AML-12345678"),
    "id lower case": one_question(id="aml-0001"),
    "id a number": one_question(id=1),
    "id ending in a line break": one_question(id="AML-0001\n"),
    "id ending in CR": one_question(id="AML-0001\r"),
    "id ending in two line breaks": one_question(id="AML-0001\n\n"),
    "id starting with a line break": one_question(id="\nAML-0001"),
    "id ending in U+2028": one_question(id="AML-0001\u2028"),
    "id with Arabic-Indic digits": one_question(id="AML-\u0660\u0661\u0662\u0663"),
    "id with full-width digits": one_question(id="AML-\uff10\uff11\uff12\uff13"),
    "domain unknown": one_question(domain="astrology"),
    "domain null": one_question(domain=None),
    "domain in other case": one_question(domain="Standards"),
    "difficulty unknown": one_question(difficulty="extreme"),
    "difficulty a number": one_question(difficulty=3),
    "topic empty": one_question(topic=""),
    "stem blank": one_question(stem=" \t\n"),
    "stem zero-width characters only": one_question(stem="\u200b\u200c\u200d\u2060"),
    "stem a byte order mark only": one_question(stem="\ufeff"),
    "stem U+0085 only": one_question(stem="\x85"),
    "stem U+001C only (space to Python, not to ECMA-262)": one_question(stem="\x1c"),
    "stem Hangul fillers only": one_question(stem="\u3164\uffa0\u115f"),
    "stem control characters only": one_question(stem="\x01\x7f\x9f"),
    "stem a soft hyphen and a space": one_question(stem="\u00ad "),
    "stem a zero-width space then a word": one_question(stem="\u200bWhich?"),
    "stem an emoji only": one_question(stem="\U0001f600"),
    "stem an escaped surrogate pair": stem('"\\ud83d\\ude00"'),
    "stem an unpaired high surrogate": stem('"\\ud800"'),
    "stem an unpaired low surrogate": stem('"x\\udc00"'),
    "stem surrogates in the wrong order": stem('"\\ude00\\ud83d"'),
    "stem a high surrogate then a letter": stem('"\\ud83dA"'),
    "stem with U+0000": stem('"Which\\u0000one?"'),
    "stem U+0000 only": stem('"\\u0000"'),
    "stem with an escaped control character": stem('"Which\\u0001one?"'),
    "stem with a raw control character": stem('"Which\x01one?"'),
    "stem with a raw tab": stem('"Which\tone?"'),
    "stem with a raw line break": stem('"Which\none?"'),
    "stem with an escaped line break at the end": stem('"Which one?\\n"'),
    "stem with U+2028": one_question(stem="Which\u2028one?"),
    "stem with escaped quotes and backslashes": stem('"Which \\"one\\" \\\\ \\/?"'),
    "stem with an invalid escape": stem('"Which \\x41?"'),
    "stem of 5 MB": one_question(stem="x" * 5_000_000),
    "stem a number": one_question(stem=42),
    "stem a list": one_question(stem=["a"] * 1000),
    "stem an object": one_question(stem={"text": "a"}),
    "stem true": one_question(stem=True),
    "explanation ideographic space": one_question(explanation="\u3000"),
    "reference padded": one_question(reference=" FATF "),
    "reference a number": one_question(reference=3),
    "reference of 10^400": edited(b'"FATF Recommendation 1"', b"1" + b"0" * 400),
    "unknown question field": one_question(surprise=1),
    "question key in other case": edited('"stem"', '"Stem"'),
    "question key repeated, same value": edited(
        '"stem": "Question 1?"', '"stem": "Question 1?", "stem": "Question 1?"'
    ),
    "question key repeated, other value": edited('"stem": "Question 1?"', '"stem": "", "stem": "Question 1?"'),
    "question key repeated, with escaped quotes": edited(
        '"stem": "Question 1?"', '"stem": "\\"1\\"", "stem": "\\"2\\""'
    ),
    "question key repeated, spaced": edited('"stem": "Question 1?"', '"stem" : "a" , "stem"\n:\t"b"'),
    "question key repeated, written with an escape": edited('"stem": "Question 1?"', '"stem": "a", "st\\u0065m": "b"'),
    "top-level key repeated": edited('"version": 1', '"version": 1, "version": 1'),
    "questions repeated": edited('"version": 1', '"questions": [], "version": 1'),
    "$schema repeated": edited('"version": 1', '"$schema": "x", "version": 1'),
    "option key repeated": edited('"correct": true', '"correct": false, "correct": true'),
    "keys differing only in case": edited('"stem": "Question 1?"', '"stem": "Question 1?", "STEM": "x"'),
    **{f"no {key}": encoded(bank_document([without(question(1), key)])) for key in question(1)},
    "one option": one_question(options=options_with()),
    "two options": one_question(options=options_with(option())),
    "six options": one_question(options=options_with(*(option(label) for label in "BCDEF"))),
    "seven options": encoded(
        bank_document([question(1, options=options_with(*(option(label) for label in "BCDEFB")))])
    ),
    "options an object": one_question(options={}),
    "options in label order D-A": one_question(options=list(reversed(question(1)["options"]))),
    "option label G": one_question(options=options_with(option("G"))),
    "option label lower case": one_question(options=options_with(option("b"))),
    "option label repeated": one_question(options=options_with(option("A"))),
    "option text blank": one_question(options=options_with(option(text="  "))),
    "option text zero-width": one_question(options=options_with(option(text="\u200b"))),
    "option text with U+0000": one_question(options=options_with(option(text="a\x00"))),
    "option correct as text": one_question(options=options_with(option(correct="false"))),
    "option correct as 0": one_question(options=options_with(option(correct=0))),
    "option correct null": one_question(options=options_with(option(correct=None))),
    "two correct options": one_question(options=options_with(option(correct=True))),
    "no correct option": one_question(options=[option("A"), option("B")]),
    "option field unknown": one_question(options=options_with(option(note="x"))),
    "option without text": one_question(options=options_with(without(option(), "text"))),
    "option a string": one_question(options=options_with("B")),
    "no tags": one_question(tags=[]),
    "six tags": one_question(tags=[f"t{n}" for n in range(6)]),
    "seven tags": one_question(tags=[f"t{n}" for n in range(7)]),
    "tag repeated": one_question(tags=["fatf", "fatf"]),
    "tag with a space": one_question(tags=["two words"]),
    "tag kebab-case": one_question(tags=["trade-based-ml"]),
    "tag ending in a line break": one_question(tags=["fatf\n"]),
    "tag ending in a hyphen": one_question(tags=["fatf-"]),
    "tag with a dotless i": one_question(tags=["\u0131"]),
    "tag a number": one_question(tags=[1]),
    "tags a string": one_question(tags="fatf"),
    **{
        f"{key} {kind}": one_question(**{key: value})
        for key in question(1)
        for kind, value in (("null", None), ("false", False), ("a float", 1.5))
    },
}


@pytest.mark.parametrize("case", CASES)
def test_the_validator_and_the_schema_accept_the_same_files(case: str, ecma: EcmaRegExp, tmp_path: Path) -> None:
    """Each case gets the same verdict from the Python validator and from the schema under ECMA-262 regular
    expressions (with and without the 'u' flag); every problem of a refused file is one line with its place."""
    data = CASES[case]
    verdicts = {reference_verdict(data, ecma_validator(ecma, flags)) for flags in ("u", "")}
    assert len(verdicts) == 1, "the schema means different things with and without the 'u' flag"
    path = tmp_path / "bank.json"
    path.write_bytes(data)
    if verdicts == {True}:
        assert len(load_bank(path)) >= 1
        return
    with pytest.raises(BankError) as raised:
        load_bank(path)
    problems = raised.value.problems
    assert problems, "refused without a reason"
    for problem in problems:
        assert "\n" not in problem and len(problem) < 300, problem
        assert problem.startswith(("$", "line ")), problem
        assert "bug" not in problem, problem


PROBLEM_LINES = {
    "id ending in a line break": "$.questions[0].id: expected an id of AML- and 4 to 7 digits, nothing before or after,"
    " got 'AML-0001\\n'",
    "tag ending in a line break": "$.questions[0].tags[0]: expected a lower-case kebab-case tag (like trade-based-ml),"
    " nothing before or after, got 'fatf\\n'",
    "stem with U+0000": "$.questions[0].stem: expected text without U+0000 or an unpaired surrogate (PostgreSQL stores"
    " neither), got 'Which\\x00one?'",
    "stem an unpaired low surrogate": "$.questions[0].stem: expected text without U+0000 or an unpaired surrogate"
    " (PostgreSQL stores neither), got 'x\\udc00'",
    "a UTF-8 byte order mark": "line 1, column 1: expected JSON text, found a UTF-8 byte order mark (save without one)",
    "Latin-1 bytes": "line 1, column 137: expected UTF-8 text, found the byte 0xE9",
    "deeply nested question": "line 1, column 69: expected at most 5 levels of arrays and objects",
    "question key repeated, other value": "$.questions[0]: expected each key once, got 'stem' more than once",
    "top-level key repeated": "$: expected each key once, got 'version' more than once",
    "stem zero-width characters only": "$.questions[0].stem: expected non-empty text (a visible character, not only"
    " spaces or zero-width ones), got '\\u200b\\u200c\\u200d\\u2060'",
    "version NaN": "line 1, column 49: invalid JSON: NaN is not a JSON value",
    "trailing garbage": "line 1, column 505: invalid JSON: Extra data",
}


@pytest.mark.parametrize("case", PROBLEM_LINES)
def test_each_problem_the_issue_names_is_one_line_with_its_place(case: str, tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    path.write_bytes(CASES[case])
    with pytest.raises(BankError) as raised:
        load_bank(path)
    assert raised.value.problems == [PROBLEM_LINES[case]]


def test_visible_text_is_defined_alike_in_python_and_ecma_262(ecma: EcmaRegExp) -> None:
    """Every white-space character of either language, every control character and the zero-width ones count as
    invisible, alone; their visible neighbours count as visible; and the module's patterns are the schema's."""
    schema = json.loads(SCHEMA.read_text())
    definitions, question_schema = schema["$defs"], schema["$defs"]["question"]["properties"]
    assert definitions["nonEmptyText"]["pattern"] == bank_format.VISIBLE_TEXT_PATTERN
    assert definitions["text"]["pattern"] == bank_format.STORABLE_TEXT_PATTERN
    assert question_schema["id"]["pattern"] == bank_format.ID_PATTERN
    assert question_schema["tags"]["items"]["pattern"] == bank_format.TAG_PATTERN
    python_space = [chr(code) for code in range(0x10000) if chr(code).isspace()]
    controls = [chr(code) for code in range(0x10000) if unicodedata.category(chr(code)) == "Cc"]
    ecma_space = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
    for character in [*python_space, *controls, *ecma_space, *INVISIBLE_SAMPLES]:
        text = character * 2
        assert not bank_format.is_storable_visible_text(text), hex(ord(character))
        assert not ecma.search(bank_format.VISIBLE_TEXT_PATTERN, text, "u"), hex(ord(character))
    for character in BORDER_SAMPLES:
        assert bank_format.is_storable_visible_text(character), hex(ord(character))
        assert ecma.search(bank_format.VISIBLE_TEXT_PATTERN, character, "u"), hex(ord(character))


def test_content_hashes_are_those_of_earlier_versions(tmp_path: Path) -> None:
    """SHA-256 of json.dumps(ensure_ascii=False, compact) of the question's fields in a fixed order, as before."""
    entries = json.loads(SHIPPED_BANK.read_text())["questions"]
    entries.append(question(9999, stem='ünïcødé \u2028 ✓ "q" \\ \x01?'))
    bank = load_bank(write_bank(tmp_path / "bank.json", entries))
    for entry, stored in zip(entries, bank.content_hashes, strict=True):
        fields = [entry[key] for key in ("id", "domain", "topic", "stem", "explanation", "difficulty", "tags")]
        canonical = [*fields, entry["reference"], [[o["label"], o["text"], o["correct"]] for o in entry["options"]]]
        text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
        assert hashlib.sha256(text.encode()).hexdigest() == stored


def test_problems_of_entries_without_ids_or_options_are_listed(tmp_path: Path) -> None:
    """Entries too broken for the rules beyond the schema still get every schema problem, and no crash."""
    path = write_bank(tmp_path / "bank.json", [without(question(1), "id"), question(2, options="none"), question(2)])
    with pytest.raises(BankError) as raised:
        load_bank(path)
    assert "$.questions[0]: 'id' is a required property" in raised.value.problems
    assert "$.questions[1].options: expected array, got str 'none'" in raised.value.problems
    assert "$.questions[2].id: duplicate id 'AML-0002' (first at $.questions[1])" in raised.value.problems


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    path.write_bytes(b'{"version": 1, "questions": ["\xff"]}')
    with pytest.raises(BankError) as raised:
        load_bank(path)
    assert raised.value.problems == ["line 1, column 31: expected UTF-8 text, found the byte 0xFF"]


def test_a_bank_validated_in_the_worker_is_refused_once_the_file_changed(tmp_path: Path) -> None:
    """The seed reads the file again to write questions: only if it is still the one the worker validated."""
    path = write_bank(tmp_path / "bank.json", [question(1), question(2)])
    validation = BankValidation(path)
    try:
        bank = validation.result()
    finally:
        validation.close()
    assert bank.ids == ["AML-0001", "AML-0002"]
    write_bank(path, [question(1), question(2, stem="Changed meanwhile?")])
    with pytest.raises(ToolchainError, match="changed while it was seeded; nothing was written"):
        list(bank.questions([1]))


def test_the_worker_reports_every_problem_of_an_invalid_bank(tmp_path: Path) -> None:
    path = write_bank(tmp_path / "bank.json", [question(1, stem=" "), question(1)])
    validation = BankValidation(path)
    try:
        with pytest.raises(BankError) as raised:
            validation.result()
    finally:
        validation.close()
    assert raised.value.problems == [
        "$.questions[0].stem: expected non-empty text (a visible character, not only spaces or zero-width ones),"
        " got ' '",
        "$.questions[1].id: duplicate id 'AML-0001' (first at $.questions[0])",
    ]


def test_a_bank_gives_its_questions_by_position(tmp_path: Path) -> None:
    bank = load_bank(write_bank(tmp_path / "bank.json", [question(1), question(2, stem="Second?")]))
    assert (bank[1].stem, bank[-2].id, [q.id for q in bank]) == ("Second?", "AML-0001", ["AML-0001", "AML-0002"])
    with pytest.raises(IndexError):
        bank[2]
