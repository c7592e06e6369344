"""The question bank file: loading and validation (all problems at once).

A valid bank takes the fast path: msgspec decodes each question into the typed
records of bank_format.py, which mirror the schema, and the few rules msgspec
cannot express are checked in Python, as is what no schema can say (unique ids
and labels, exactly one correct option). A bank that fails anywhere on it is
read again with the standard library and jsonschema, slowly, to list every
problem with its place (bank_problems.py).

Only the file's bytes and each question's id and content hash stay in memory:
questions are decoded again from the bytes when the seed writes them.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import msgspec

from acams_db.errors import ToolchainError
from acams_db.questions import bank_format, bank_problems
from acams_db.questions.bank_format import SCHEMA_PATH, BankQuestion, content_hash, is_storable_visible_text, is_tag
from acams_db.questions.bank_problems import (
    JsonObject,
    all_problems,
    duplicate_id_problems,
    option_problems,
    ordered,
    repeated_keys,
)


class _BankFile(msgspec.Struct, forbid_unknown_fields=True, rename={"schema": "$schema"}):
    # The schema's `const: 1`, compared after decoding: JSON Schema counts 1.0 as 1 too.
    version: float
    # Kept as each question's JSON text: decoded one by one, never all at once.
    questions: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1)]
    schema: str | msgspec.UnsetType = msgspec.UNSET


_FILE_DECODER = msgspec.json.Decoder(_BankFile)
_QUESTION_DECODER = msgspec.json.Decoder(BankQuestion)


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
        data = read_bank_bytes(self.path)
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
    return validated_bank(path, read_bank_bytes(path))


def file_sha256(path: Path) -> str | None:
    """SHA-256 of the file's bytes, or None when it cannot be read (validation then says why)."""
    try:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return None


@functools.cache
def validator_digest() -> str:
    """SHA-256 of what decides whether a bank is valid and what its content hashes are: the code of this module,
    bank_format.py and bank_problems.py, the JSON Schema and msgspec's version. The same file passes or fails
    alike under the same digest. Read once per process, like the code it stands for."""
    code = [Path(module.__file__ or "").read_bytes() for module in (bank_format, bank_problems)]
    parts = (Path(__file__).read_bytes(), *code, SCHEMA_PATH.read_bytes(), msgspec.__version__.encode())
    return hashlib.sha256(b"".join(hashlib.sha256(part).digest() for part in parts)).hexdigest()


def read_bank_bytes(path: Path) -> bytes:
    """The file's bytes; ToolchainError, in a line, when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise ToolchainError(f"Cannot read the question bank {path}: {error.strerror}") from error


def validated_bank(path: Path, data: bytes) -> Bank:
    """The bank in `data`, the bytes of the file at `path`; raise BankError with every problem."""
    with _collector_paused():
        bank, problems = _fast_load(path, data)
    if bank is None:
        problems = problems or all_problems(data)
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
    if '"' in schema_value and repeated_keys(json.loads(data, object_pairs_hook=JsonObject)):
        return None, []
    quotes = 2 * (2 if isinstance(bank_file.schema, msgspec.UnsetType) else 4)
    for index, raw_question in enumerate(bank_file.questions):
        try:
            question = _QUESTION_DECODER.decode(raw_question)
        except _DECODING_FAILED:
            return None, []
        texts = [question.topic, question.stem, question.explanation, question.reference]
        texts += [option.text for option in question.options]
        if not all(is_storable_visible_text(text) for text in texts) or len(set(question.tags)) != len(question.tags):
            return None, []
        quotes += _quotes_if_keys_once(raw_question, _strings_in(question), texts)
        tags.update(question.tags)
        ids.append(question.id)
        content_hashes.append(content_hash(question))
        labels, correct = [o.label for o in question.options], [o.correct for o in question.options]
        if len(set(labels)) != len(labels) or correct.count(True) != 1:
            problems += option_problems(index, labels, correct)
    if not all(is_tag(tag) for tag in tags):
        return None, []
    if '"' not in schema_value and data.count(b'"') != quotes:  # a key is given twice
        return None, []
    problems = duplicate_id_problems(ids) + problems
    if problems:
        return None, ordered(problems)
    return Bank(path, ids, content_hashes, raw_questions=bank_file.questions), []


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
    if repeated_keys(json.loads(bytes(raw), object_pairs_hook=JsonObject)):
        return -1  # never the count: the file is refused
    return bytes(raw).count(b'"')
