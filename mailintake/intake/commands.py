"""Engineer commands: `#` lines at the top of an engineer's mail.

    #category CAT II      #kind change      #status pending|resolved|closed
    #plan                 #time 20m         #internal

Commands stand at the top of the new text, one per line (blank lines between them are fine);
the first line that is not a command starts the message to the customer. Every command is
checked before anything is done: one unknown or malformed command rejects the whole mail, so an
engineer never gets half of what they asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from mailintake.classifiers import CATEGORIES, KINDS
from mailintake.durations import parse_duration

COMMAND_LINE = re.compile(r"^#([A-Za-z_-]+)\s*(.*?)\s*$")
STATUSES = ("pending", "resolved", "closed")
USAGE = (
    "#category CAT I|CAT II|CAT III",
    f"#kind {'|'.join(KINDS)}",
    f"#status {'|'.join(STATUSES)}",
    "#plan   (the resolution plan is carried out: the resolution clock starts)",
    "#time 20m   (time spent, e.g. 20m, 1h, 1h30m)",
    "#internal   (a note for the ticket, not sent to the customer)",
)


@dataclass(frozen=True)
class Command:
    name: str
    value: str | timedelta | None = None


@dataclass(frozen=True)
class Instructions:
    commands: tuple[Command, ...]
    body: str
    errors: tuple[str, ...]

    @property
    def internal(self) -> bool:
        return any(command.name == "internal" for command in self.commands)

    def of(self, name: str) -> list[Command]:
        return [command for command in self.commands if command.name == name]


def normalize_category(text: str) -> str | None:
    compact = re.sub(r"[\s_-]+", "", text).upper().removeprefix("CAT")
    numerals = {"1": "I", "2": "II", "3": "III", "I": "I", "II": "II", "III": "III"}
    roman = numerals.get(compact)
    return f"CAT {roman}" if roman and f"CAT {roman}" in CATEGORIES else None


def read_command(name: str, argument: str) -> Command:
    """One command, checked; ValueError says what is wrong and how to write it."""
    name = name.lower()
    if name == "category":
        category = normalize_category(argument)
        if category is None:
            raise ValueError(f"#category {argument!r}: write CAT I, CAT II or CAT III")
        return Command(name, category)
    if name == "kind":
        if argument.lower() not in KINDS:
            raise ValueError(f"#kind {argument!r}: write one of {', '.join(KINDS)}")
        return Command(name, argument.lower())
    if name == "status":
        if argument.lower() not in STATUSES:
            raise ValueError(f"#status {argument!r}: write one of {', '.join(STATUSES)}")
        return Command(name, argument.lower())
    if name == "time":
        try:
            return Command(name, parse_duration(argument))
        except ValueError as error:
            raise ValueError(f"#time: {error}") from None
    if name in ("plan", "internal"):
        if argument:
            raise ValueError(f"#{name} takes nothing after it (got {argument!r})")
        return Command(name)
    raise ValueError(f"#{name}: unknown command")


def read_instructions(new_text: str) -> Instructions:
    lines = new_text.strip("\n").splitlines()
    commands: list[Command] = []
    errors: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if line and not line.startswith("#"):
            break
        if line:
            found = COMMAND_LINE.match(line)
            if found is None:
                errors.append(f"{line!r}: a command is # and a word, e.g. #time 20m")
            else:
                try:
                    commands.append(read_command(found.group(1), found.group(2)))
                except ValueError as error:
                    errors.append(str(error))
        index += 1
    body = "\n".join(lines[index:]).strip()
    return Instructions(tuple(commands), body, tuple(errors))
