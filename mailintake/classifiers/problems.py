"""Problems found in an admin-edited file, and the errors that carry them.

Admins edit the rules and customers files by hand. Every mistake is reported as a `Problem`
naming the file, the line and what to do about it, so `mailintake rules check` can print it and
a reload can refuse the whole file. A loader collects all the problems it can find before it
raises, so one run of the check shows every mistake rather than the first one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in a file: where it is and how to fix it."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"

    def to_dict(self) -> dict[str, str | int | None]:
        return {"file": self.file, "line": self.line, "message": self.message}


class FileProblemsError(Exception):
    """A file was refused; `problems` lists every mistake found in it."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class RulesError(FileProblemsError):
    """The rules file cannot be used; the rules that were active stay active."""


class CustomersError(FileProblemsError):
    """The customers file cannot be used."""
