"""The question bank file: loading, validation (all problems at once) and content hashes.

The format is data/questions.schema.json (JSON Schema, also used by editors).
A valid bank takes the fast path: msgspec decodes each question into the typed
records below, which mirror the schema (tests/test_seed.py holds them to it),
and the few rules msgspec cannot express are checked in Python, as is what no
schema can say (unique ids and labels, exactly one correct option). A bank
that fails anywhere on it is read again with the standard library and
jsonschema, slowly, to list every problem with its place.

Only the file's bytes and each question's id and content hash stay in memory:
questions are decoded again from the bytes when the seed writes them.
"""

from __future__ import annotations

import codecs
import functools
import gc
import hashlib
import json
import multiprocessing
import os
import re
import reprlib
import signal
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from acams_db.errors import ToolchainError
from acams_db.runtime.processes import die_with_parent

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "data" / "questions.schema.json"

# The schema's patterns (tests/test_bank_validation.py holds them to it), written to mean the same under Python's
# re.search and under the ECMA-262 regular expressions of JSON Schema validators. `(?!\n)$`: Python's `$` also
# matches before a final line break, ECMA-262's does not. The id's is applied by msgspec, the tags' by _fast_load,
# once per distinct tag (a bank has few), the texts' by _is_storable_visible_text.
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


# gc=False: these records hold no cycles, and the collector need not track millions of them.
class Option(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    label: Literal["A", "B", "C", "D", "E", "F"]
    # Non-empty texts (the schema's nonEmptyText) are checked by _is_storable_visible_text.
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
    # Unique tags (the schema's uniqueItems) are checked by _has_valid_texts_and_tags, their pattern by _fast_load.
    tags: Annotated[list[str], msgspec.Meta(min_length=1, max_length=6)]
    reference: str


class _BankFile(msgspec.Struct, forbid_unknown_fields=True, rename={"schema": "$schema"}):
    # The schema's `const: 1`, compared after decoding: JSON Schema counts 1.0 as 1 too.
    version: float
    # Kept as each question's JSON text: decoded one by one, never all at once.
    questions: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1)]
    schema: str | msgspec.UnsetType = msgspec.UNSET


_FILE_DECODER = msgspec.json.Decoder(_BankFile)
_QUESTION_DECODER = msgspec.json.Decoder(BankQuestion)
_ENCODER = msgspec.json.Encoder()


class Bank:
    """A validated bank: each question's id and content hash, in file order. The questions themselves are
    decoded again from the file's bytes when asked for."""

    def __init__(
        self,
        path: Path,
        ids: list[str],
        content_hashes: list[str],
        *,
        raw_questions: list[msgspec.Raw] | None = None,
        file_digest: str | None = None,
        questions_digest: str | None = None,
    ) -> None:
        """`raw_questions`: each question's JSON text; without it, the file is read again when questions
        are asked for, and refused unless its SHA-256 is still `file_digest`, the one validated."""
        self.path = path
        self.ids = ids
        self.content_hashes = content_hashes
        self.file_digest = file_digest
        self._raw_questions = raw_questions
        self._questions_digest = questions_digest

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[BankQuestion]:
        return self.questions(range(len(self)))

    def __getitem__(self, index: int) -> BankQuestion:
        [question] = self.questions([range(len(self))[index]])
        return question

    @property
    def questions_digest(self) -> str:
        """SHA-256 of every question's id and content hash, as "<length of id>:<id><hash>" in code point order
        of the ids: the same for two banks with the same questions, in any order, and only for them."""
        if self._questions_digest is None:
            records = sorted(zip(self.ids, self.content_hashes, strict=True))
            text = "".join(f"{len(question_id)}:{question_id}{content_hash}" for question_id, content_hash in records)
            self._questions_digest = hashlib.sha256(text.encode()).hexdigest()
        return self._questions_digest

    def questions(self, indexes: Iterable[int]) -> Iterator[BankQuestion]:
        """The questions at `indexes` (positions in the file), decoded again from the file's bytes."""
        if self._raw_questions is None:
            self._raw_questions = self._read_again()
        for index in indexes:
            yield _QUESTION_DECODER.decode(self._raw_questions[index])

    def _read_again(self) -> list[msgspec.Raw]:
        data = _read(self.path)
        if hashlib.sha256(data).hexdigest() != self.file_digest:
            raise ToolchainError(f"{self.path} changed while it was seeded; nothing was written. Seed again.")
        return _FILE_DECODER.decode(data).questions


class BankError(ToolchainError):
    """The bank file is invalid; `problems` lists every problem found, each with its place."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{path}: {len(problems)} problem(s); nothing was written.\n{listing}")

    def __reduce__(self) -> tuple[type[BankError], tuple[Path, list[str]]]:
        # Raised in the validation worker, re-raised here: pickled with the arguments it is built from.
        return BankError, (self.path, self.problems)


def load_bank(path: Path) -> Bank:
    """Read and validate the whole file before anything uses it; raise BankError with every problem."""
    return _validated(path, _read(path))


def file_sha256(path: Path) -> str | None:
    """SHA-256 of the file's bytes, or None when it cannot be read (validation then says why)."""
    try:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return None


@functools.cache
def validator_digest() -> str:
    """SHA-256 of what decides whether a bank is valid and what its content hashes are: this module's code,
    the JSON Schema and msgspec's version. The same file passes or fails alike under the same digest.
    Read once per process, like the code it stands for."""
    parts = (Path(__file__).read_bytes(), SCHEMA_PATH.read_bytes(), msgspec.__version__.encode())
    return hashlib.sha256(b"".join(hashlib.sha256(part).digest() for part in parts)).hexdigest()


class BankValidation:
    """The bank at `path` read and validated in a worker process, while this process does other work: the
    seed imports Prisma Client Python and starts the engine meanwhile, a second or so, on the other core.

    The worker is forked, so it starts at once with everything imported. It sends back each question's id
    and content hash and their digest (or the problems), not the questions: the seed reads the file again
    only if it has questions to write, and refuses it if it changed since. It runs at a lower priority:
    the seed may find it has no need of the result (see seed.py), and should not wait on it meanwhile.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        context = multiprocessing.get_context("fork")
        self._outcome, sender = context.Pipe(duplex=False)
        self._worker = context.Process(
            target=_validate_in_worker, args=(os.getpid(), path, self._outcome, sender), daemon=True
        )
        self._worker.start()
        sender.close()

    def result(self) -> Bank:
        """Wait for the worker; the validated bank, else raise BankError with every problem."""
        try:
            outcome = self._outcome.recv()
        except EOFError:
            self._worker.join()
            message = f"Validating {self.path} failed: the worker process ended with exit code {self._worker.exitcode}."
            raise ToolchainError(message) from None
        if isinstance(outcome, ToolchainError):
            raise outcome
        file_digest, questions_digest, ids, content_hashes = outcome
        return Bank(self.path, ids, content_hashes, file_digest=file_digest, questions_digest=questions_digest)

    def close(self) -> None:
        """Stop the worker if it still runs (when the caller gave up before the result)."""
        if self._worker.is_alive():
            self._worker.terminate()
        self._worker.join()
        self._outcome.close()


def _validate_in_worker(seed_pid: int, path: Path, seed_end: Connection, outcome: Connection) -> None:
    # Killed with the seed however it ends (a daemon process is only ended by a parent that exits normally).
    die_with_parent(seed_pid)
    # Ctrl-C reaches the whole process group: the seed handles it (and stops this worker).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The seed's end of the pipe, inherited by the fork: held open here, a write to a seed that has gone would
    # wait forever for a reader instead of failing.
    seed_end.close()
    # Linux's idle class: the worker takes only CPU time nothing else wants (the seed's start-up comes first).
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    try:
        try:
            data = _read(path)
            bank = _validated(path, data)
            outcome.send((hashlib.sha256(data).hexdigest(), bank.questions_digest, bank.ids, bank.content_hashes))
        except ToolchainError as error:
            outcome.send(error)
    except BrokenPipeError:
        pass  # the seed that asked has gone (killed or failed): nobody to tell


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ToolchainError(f"Cannot read the question bank {path}: {error.strerror}") from error


def _validated(path: Path, data: bytes) -> Bank:
    with _collector_paused():
        bank, problems = _fast_load(path, data)
    if bank is None:
        problems = problems or _all_problems(data)
        if not problems:  # the two validations disagree: a bug, reported as such rather than as a valid bank
            problems = ["$: refused by the fast validation, though the full one finds no problem (a bug: report it)"]
        raise BankError(path, problems)
    return bank


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: decoding a large bank creates millions of objects, and the
    collections they trigger (which find nothing: the records hold no cycles) made loading three times slower."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# What msgspec raises on a file that is not a valid bank: its own errors, UnicodeDecodeError for bytes that are
# not UTF-8 inside a question (kept raw until then), RecursionError for arrays nested too deeply.
_DECODING_FAILED = (msgspec.MsgspecError, ValueError, RecursionError)


def _fast_load(path: Path, data: bytes) -> tuple[Bank | None, list[str]]:
    """The bank, or None with the problems when only rules beyond the schema are broken, or None and no
    problems when the file breaks the schema or is not JSON (the slow path then finds and words them)."""
    try:
        bank_file = _FILE_DECODER.decode(data)
    except _DECODING_FAILED:
        return None, []
    schema_value = bank_file.schema or ""
    if bank_file.version != 1 or "\x00" in schema_value:
        return None, []
    ids, content_hashes, problems = [], [], []
    tags: set[str] = set()
    # Decoders keep a repeated key's last value silently: the file's quotes are counted against those of the
    # strings decoded (see _quotes_if_keys_once). The top level's own text is "$schema"'s value; with a quote
    # in it (strange in a path), the whole file is parsed for repeated keys instead.
    if '"' in schema_value and _repeated_keys(json.loads(data, object_pairs_hook=_JsonObject)):
        return None, []
    quotes = 2 * (2 if isinstance(bank_file.schema, msgspec.UnsetType) else 4)
    for index, raw_question in enumerate(bank_file.questions):
        try:
            question = _QUESTION_DECODER.decode(raw_question)
        except _DECODING_FAILED:
            return None, []
        texts = [question.topic, question.stem, question.explanation, question.reference]
        texts += [option.text for option in question.options]
        if not all(_is_storable_visible_text(text) for text in texts) or len(set(question.tags)) != len(question.tags):
            return None, []
        quotes += _quotes_if_keys_once(raw_question, _strings_in(question), texts)
        tags.update(question.tags)
        ids.append(question.id)
        content_hashes.append(content_hash(question))
        labels, correct = [o.label for o in question.options], [o.correct for o in question.options]
        if len(set(labels)) != len(labels) or correct.count(True) != 1:
            problems += _option_problems(index, labels, correct)
    if not all(_TAG.search(tag) for tag in tags):
        return None, []
    if '"' not in schema_value and data.count(b'"') != quotes:  # a key is given twice
        return None, []
    problems = _duplicate_id_problems(ids) + problems
    if problems:
        return None, _ordered(problems)
    return Bank(path, ids, content_hashes, raw_questions=bank_file.questions), []


def _is_storable_visible_text(text: str) -> bool:
    """The schema's nonEmptyText: STORABLE_TEXT_PATTERN (msgspec refuses unpaired surrogates itself) and
    VISIBLE_TEXT_PATTERN, searched for only when the text does not begin with printable ASCII (rare)."""
    return "\x00" not in text and ("!" <= text[:1] <= "~" or _VISIBLE.search(text) is not None)


def _strings_in(question: BankQuestion) -> int:
    """How many strings, keys included, the JSON object of `question` holds when it names each key once: its 9
    keys and 7 texts, its tags, and 3 keys and 2 texts per option."""
    return 16 + len(question.tags) + 5 * len(question.options)


def _quotes_if_keys_once(raw: msgspec.Raw | bytes, strings: int, texts: list[str]) -> int:
    """How many quotes `raw`, a JSON object holding `strings` strings, has if it names each key once. Its keys are
    the format's (msgspec refuses others), its only free texts are `texts`. Without a quote in them, none is
    escaped, so every quote of `raw` opens or closes a string, and a key given twice brings two more. With
    one (rare), `raw` is parsed and searched for repeated keys."""
    if not any('"' in text for text in texts):
        return 2 * strings
    if _repeated_keys(json.loads(bytes(raw), object_pairs_hook=_JsonObject)):
        return -1  # never the count: the file is refused
    return bytes(raw).count(b'"')


class _JsonObject(dict[str, Any]):
    """A JSON object as json.loads gives it, with the keys it names more than once (the last value is kept)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.repeated = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)


def _repeated_keys(document: Any) -> list[str]:
    """'<JSON path>: …' for every object of `document` that names a key more than once (walked without recursion:
    the document may be deeply nested)."""
    problems, pending = [], [("$", document)]
    while pending:
        place, value = pending.pop()
        if isinstance(value, _JsonObject):
            problems += [f"{place}: expected each key once, got {key!r} more than once" for key in value.repeated]
            pending += [(_child_path(place, key), child) for key, child in value.items()]
        elif isinstance(value, list):
            pending += [(f"{place}[{index}]", child) for index, child in enumerate(value)]
    return sorted(problems)


def _child_path(place: str, key: str) -> str:
    # JSON paths as jsonschema writes them: .name for plain names, ['name'] otherwise.
    return f"{place}.{key}" if key.isidentifier() else f"{place}[{key!r}]"


def _all_problems(data: bytes) -> list[str]:
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
    problems += _repeated_keys(document)
    if isinstance(document, dict) and isinstance(document.get("questions"), list):
        problems += _consistency_problems(document["questions"])
    return problems


# The format's deepest value (an option, in an array in a question, in an array in the file) is 5 levels deep.
_DEEPEST = 5
_NOT_JSON_CONSTANTS = ("NaN", "Infinity", "-Infinity")


def _parsed(data: bytes) -> tuple[Any, str | None]:
    """The JSON document in `data`, or the reason it is none, at its line and column."""
    if data.startswith(codecs.BOM_UTF8):
        return None, "line 1, column 1: expected JSON text, found a UTF-8 byte order mark (save without one)"
    try:
        text = data.decode()
    except UnicodeDecodeError as error:
        return None, f"{_place(data, error.start)}: expected UTF-8 text, found the byte 0x{data[error.start]:02X}"
    try:
        return json.loads(text, object_pairs_hook=_JsonObject, parse_constant=_refuse, parse_int=_integer), None
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
            problems += _option_problems(index, [o.get("label") for o in parts], [o.get("correct") for o in parts])
    return _ordered(_duplicate_id_problems(ids) + problems)


def _duplicate_id_problems(ids: Sequence[object]) -> list[str]:
    first_seen: dict[str, int] = {}
    problems = []
    for index, question_id in enumerate(ids):
        if not isinstance(question_id, str):
            continue
        first = first_seen.setdefault(question_id, index)
        if first != index:
            problems.append(f"$.questions[{index}].id: duplicate id {question_id!r} (first at $.questions[{first}])")
    return problems


def _option_problems(index: int, labels: Sequence[object], correct: Sequence[object]) -> list[str]:
    place = f"$.questions[{index}].options"
    problems = []
    hashable = [label for label in labels if isinstance(label, str)]
    for duplicate in sorted({label for label in hashable if hashable.count(label) > 1}):
        problems.append(f"{place}: duplicate option label {duplicate!r}")
    found = sum(1 for value in correct if value is True)
    if found != 1:
        problems.append(f"{place}: expected exactly one correct option, found {found}")
    return problems


def _ordered(problems: list[str]) -> list[str]:
    """Problems in the order of the questions they concern."""

    def question_index(problem: str) -> int:
        return int(problem.partition("[")[2].partition("]")[0])

    return sorted(problems, key=question_index)


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
