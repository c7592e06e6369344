"""Write a synthetic question bank, or a copy of a bank with a share of its questions edited.

    generate_bank.py --count 100000 --seed 1 --out bank.json
    generate_bank.py --from bank.json --change-percent 1 --seed 1 --out bank-1pct.json

A synthetic bank has the format of data/questions.json (valid against
data/questions.schema.json: ids AML-9000001, AML-9000002, ... sequential, four
options A-D with exactly one correct, the real bank's domains, topics,
difficulties, tags and references). Each synthetic question imitates a question of the real
bank drawn at random: it takes its metadata and, for its stem, explanation and
options, texts of the same lengths made of the real bank's words. So text
lengths follow the real bank's distribution. The ids are those the schema
reserves for synthetic banks (AML-9000000 and above): seeding one into a
development database adds to the real questions and never overwrites them.

With --from, the copy of the bank differs from it in exactly P% of its
questions (rounded, at least one), chosen at random; each of them gets one of
three edits in turn: a few words of the stem changed, a few words of a
distractor changed, or a distractor replaced by a new text (the option removed
and added again). Re-seeding the copy updates exactly those questions.

The output is the same for the same arguments and the same data/questions.json.
Questions are written one by one, with the real bank's layout (two-space
indentation); progress goes to stderr every 10,000 questions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REAL_BANK = ROOT / "data" / "questions.json"
SCHEMA = ROOT / "data" / "questions.schema.json"
LABELS = "ABCD"
# The ids the schema reserves for synthetic banks: AML-9000001 to AML-9999999.
FIRST_ID = 9_000_000
MAX_COUNT = 999_999
PROGRESS_EVERY = 10_000
# Words replaced by an edit of a stem or an option.
EDITED_WORDS = 3

Question = dict[str, Any]


@dataclass(frozen=True)
class Profile:
    """What synthetic questions imitate: the real bank's questions, and its words with their frequencies."""

    templates: list[Question]
    # Every word of the real bank's texts, in an order shuffled once: a text is a slice of it.
    words: list[str]
    # Mean characters per word, counting the space after it: turns a text length into a word count.
    characters_per_word: float


def load_profile(path: Path, seed: int) -> Profile:
    """The profile of the bank at `path`: its questions, and every word of its stems, explanations and options."""
    templates = json.loads(path.read_text(encoding="utf-8"))["questions"]
    texts = (text for question in templates for text in question_texts(question))
    words = [word for text in texts for word in (raw.strip(".,;:?!()'\"") for raw in text.split()) if word]
    random.Random(seed).shuffle(words)
    return Profile(templates, words, sum(len(word) + 1 for word in words) / len(words))


def question_texts(question: Question) -> Iterator[str]:
    """The free texts of `question`: stem, explanation and the four options."""
    yield question["stem"]
    yield question["explanation"]
    yield from (option["text"] for option in question["options"])


def question_id(number: int) -> str:
    """The id of question `number` (1-based): AML-9000001, AML-9000002, ..."""
    return f"AML-{FIRST_ID + number}"


def words_of_length(rng: random.Random, profile: Profile, length: int) -> str:
    """About `length` characters of the profile's words (at least one word), the first one capitalised."""
    count = min(len(profile.words), max(1, round(length / profile.characters_per_word)))
    start = rng.randrange(len(profile.words) - count + 1)
    text = " ".join(profile.words[start : start + count])
    return text[0].upper() + text[1:]


def synthetic_question(number: int, rng: random.Random, profile: Profile) -> Question:
    """Question `number`: a real question's metadata, with new texts as long as its own and a random correct label."""
    template = rng.choice(profile.templates)
    correct = rng.randrange(len(LABELS))
    stem = template["stem"]
    explanation = f"{LABELS[correct]} is correct: " + words_of_length(rng, profile, len(template["explanation"]) - 16)
    return {
        "id": question_id(number),
        "domain": template["domain"],
        "topic": template["topic"],
        # The real stems end in "?" or ":" (a completion); keep the template's.
        "stem": words_of_length(rng, profile, len(stem) - 1) + stem[-1],
        "options": [
            {"label": label, "text": words_of_length(rng, profile, len(option["text"])), "correct": index == correct}
            for index, (label, option) in enumerate(zip(LABELS, template["options"], strict=True))
        ],
        "explanation": explanation + ".",
        "difficulty": template["difficulty"],
        "tags": list(template["tags"]),
        "reference": template["reference"],
    }


def synthetic_questions(count: int, seed: int, profile: Profile) -> Iterator[Question]:
    """`count` synthetic questions, AML-9000001 first. A smaller count with the same seed gives a prefix."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        yield synthetic_question(number, rng, profile)


# --- edits for --change-percent ----------------------------------------------


def edit_words(rng: random.Random, profile: Profile, text: str) -> str:
    """`text` with a few of its words replaced by other words of the profile; never `text` itself."""
    # A text without words (a stem that is only "?") gets one.
    words = text.split() or [""]
    edited = text
    while edited == text:
        for position in rng.sample(range(len(words)), min(EDITED_WORDS, len(words))):
            words[position] = rng.choice(profile.words)
        edited = " ".join(words)
    return edited


def distractor(rng: random.Random, question: Question) -> Question:
    """One of the question's incorrect options, chosen at random."""
    return rng.choice([option for option in question["options"] if not option["correct"]])


def edit_stem(rng: random.Random, profile: Profile, question: Question) -> None:
    """Change a few words of the stem, keeping its final "?" or ":"."""
    stem = question["stem"]
    question["stem"] = edit_words(rng, profile, stem[:-1]) + stem[-1]


def edit_option(rng: random.Random, profile: Profile, question: Question) -> None:
    """Change a few words of a distractor's text."""
    option = distractor(rng, question)
    option["text"] = edit_words(rng, profile, option["text"])


def replace_option(rng: random.Random, profile: Profile, question: Question) -> None:
    """Replace a distractor by a new one under the same label: the option removed and added again."""
    option = distractor(rng, question)
    old = option["text"]
    while option["text"] == old:
        option["text"] = words_of_length(rng, profile, len(old))


EDITS: tuple[Callable[[random.Random, Profile, Question], None], ...] = (edit_stem, edit_option, replace_option)


def changed_questions(
    questions: list[Question], percent: float, seed: int, profile: Profile
) -> tuple[list[Question], int]:
    """The questions with `percent`% of them (at least one) edited in place, and how many were edited."""
    rng = random.Random(seed)
    count = max(1, round(len(questions) * percent / 100))
    for turn, index in enumerate(sorted(rng.sample(range(len(questions)), count))):
        EDITS[turn % len(EDITS)](rng, profile, questions[index])
    return questions, count


# --- output ------------------------------------------------------------------

# A question as json.dumps(question, indent=2) lays it out inside the bank (at depth two, keys in the
# schema's order); filling it in with each value encoded is several times faster than that.
QUESTION_LAYOUT = """    {{
      "id": {id},
      "domain": {domain},
      "topic": {topic},
      "stem": {stem},
      "options": [
{options}
      ],
      "explanation": {explanation},
      "difficulty": {difficulty},
      "tags": [
{tags}
      ],
      "reference": {reference}
    }}"""
OPTION_LAYOUT = """        {{
          "label": {label},
          "text": {text},
          "correct": {correct}
        }}"""


def question_json(question: Question) -> str:
    """`question` laid out like the questions of data/questions.json (json.dumps(indent=2), at depth two)."""
    # What json.dumps does with a string, without its per-call overhead.
    string = encode_basestring_ascii
    options = ",\n".join(
        OPTION_LAYOUT.format(
            label=string(option["label"]), text=string(option["text"]), correct=json.dumps(option["correct"])
        )
        for option in question["options"]
    )
    tags = ",\n".join(f"        {string(tag)}" for tag in question["tags"])
    scalars = {key: string(value) for key, value in question.items() if key not in ("options", "tags")}
    return QUESTION_LAYOUT.format(options=options, tags=tags, **scalars)


def write_bank(path: Path, header: dict[str, Any], questions: Iterable[Question], count: int) -> None:
    """Write the bank to `path` question by question, laid out like data/questions.json; progress on stderr."""
    with path.open("w", encoding="utf-8") as out:
        out.write("{\n")
        for key, value in header.items():
            out.write(f"  {json.dumps(key)}: {json.dumps(value)},\n")
        out.write('  "questions": [\n')
        for written, question in enumerate(questions, start=1):
            out.write(question_json(question))
            out.write(",\n" if written < count else "\n")
            if written % PROGRESS_EVERY == 0:
                print(f"generate_bank: {written:,}/{count:,} questions", file=sys.stderr, flush=True)
        out.write("  ]\n}\n")


def schema_reference(out: Path) -> str:
    """The "$schema" value of a bank written to `out`: the schema's path relative to the bank's folder."""
    return Path(os.path.relpath(SCHEMA, out.resolve().parent)).as_posix()


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write a synthetic question bank in the format of data/questions.json, or (--from with "
        "--change-percent) a copy of a bank in which a share of the questions is edited. The output depends only "
        "on the arguments and data/questions.json.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--count", type=int, metavar="N", help="Number of synthetic questions to write.")
    source.add_argument("--from", dest="source", type=Path, metavar="FILE", help="Bank to copy with edits.")
    parser.add_argument(
        "--change-percent",
        type=float,
        metavar="P",
        help="With --from: edit P%% of the questions (at least one), chosen at random from the seed.",
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of the random choices (default 0).")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="File to write.")
    arguments = parser.parse_args()
    if arguments.count is not None and not 1 <= arguments.count <= MAX_COUNT:
        parser.error(f"--count must be between 1 and {MAX_COUNT:,}")
    if (arguments.source is None) != (arguments.change_percent is None):
        parser.error("--from and --change-percent go together")
    if arguments.change_percent is not None and not 0 < arguments.change_percent <= 100:
        parser.error("--change-percent must be more than 0 and at most 100")
    return arguments


def main() -> int:
    arguments = parse_arguments()
    profile = load_profile(REAL_BANK, arguments.seed)
    if arguments.source is None:
        header = {"$schema": schema_reference(arguments.out), "version": 1}
        questions = synthetic_questions(arguments.count, arguments.seed, profile)
        write_bank(arguments.out, header, questions, arguments.count)
        return 0
    document = json.loads(arguments.source.read_text(encoding="utf-8"))
    edited, count = changed_questions(document.pop("questions"), arguments.change_percent, arguments.seed, profile)
    write_bank(arguments.out, document, edited, len(edited))
    print(f"generate_bank: edited {count:,} of {len(edited):,} questions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
