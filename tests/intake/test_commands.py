"""Engineer commands: read from the top of the mail, all checked before any is applied."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailintake.intake.commands import Command, read_instructions


def test_commands_at_the_top_and_the_rest_is_for_the_customer() -> None:
    read = read_instructions(
        "#category cat 2\n#time 1h30m\n\n#plan\nBeste Jan,\n\n#hashtag in de tekst\nGroet, Eva"
    )
    assert read.errors == ()
    assert read.commands == (
        Command("category", "CAT II"),
        Command("time", timedelta(minutes=90)),
        Command("plan"),
    )
    assert read.body == "Beste Jan,\n\n#hashtag in de tekst\nGroet, Eva"
    assert not read.internal


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("#category CAT III", Command("category", "CAT III")),
        ("#category 1", Command("category", "CAT I")),
        ("#kind change", Command("kind", "change")),
        ("#status pending", Command("status", "pending")),
        ("#STATUS Resolved", Command("status", "resolved")),
        ("#time 20m", Command("time", timedelta(minutes=20))),
        ("#time 1,5u", Command("time", timedelta(minutes=90))),
        ("#internal", Command("internal")),
    ],
)
def test_each_command(line: str, expected: Command) -> None:
    assert read_instructions(line + "\nnotitie").commands == (expected,)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("#categorie CAT II", "#categorie: unknown command"),
        ("#category CAT IV", "write CAT I, CAT II or CAT III"),
        ("#kind storing", "write one of incident"),
        ("#status open", "write one of pending, resolved, closed"),
        ("#time soon", "is not a duration"),
        ("#time 0m", "longer than zero"),
        ("#plan now", "#plan takes nothing after it"),
        ("# category CAT II", "a command is # and a word"),
    ],
)
def test_a_malformed_command_is_reported_and_nothing_is_kept(text: str, error: str) -> None:
    read = read_instructions(f"#time 20m\n{text}\nBeste klant")
    assert any(error in e for e in read.errors), read.errors


def test_internal_note() -> None:
    read = read_instructions("#internal\n#time 10m\nKlant belt terug na de lunch.")
    assert read.internal and read.body == "Klant belt terug na de lunch."


def test_a_mail_without_commands_is_all_body() -> None:
    read = read_instructions("\n\nHallo Jan, het werkt weer.\n")
    assert read.commands == () and read.body == "Hallo Jan, het werkt weer."
