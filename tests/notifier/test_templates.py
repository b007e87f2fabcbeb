"""Templates: the words of each mail in Dutch and English; what an admin's override may not do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailintake.notifier.contexts import KINDS, AcknowledgementContext, MissingField
from mailintake.notifier.formatting import format_duration, format_when, normalize_language
from mailintake.notifier.samples import SAMPLES
from mailintake.notifier.templates import (
    DEFAULT_ZONE,
    RenderError,
    Templates,
    check_templates,
)
from tests.notifier.conftest import sample


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_built_in_templates_have_no_problems() -> None:
    assert check_templates(None) == []


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_subject_text_and_html(
    templates: Templates, kind: str, language: str
) -> None:
    for context in SAMPLES[kind]:
        rendered = templates.render(context, language)
        assert rendered.subject and "\n" not in rendered.subject
        assert rendered.text.endswith("\n") and "None" not in rendered.text
        assert rendered.html is not None and f'<html lang="{language}">' in rendered.html
        assert "CNE Servicedesk" in rendered.text


def test_acknowledgement_states_ref_category_deadline_in_local_time_and_service_hours(
    templates: Templates,
) -> None:
    rendered = templates.render(sample("acknowledgement"))
    assert rendered.subject == "[T-2026-000123] Ontvangen: Geen kiestoon op toestel 201"
    assert rendered.language == "nl"
    assert "Geachte Jan de Vries," in rendered.text
    assert "CAT II – één of meer gebruikers op cruciale plaatsen" in rendered.text
    # 14:00 UTC is 15:00 in Amsterdam: the seed's Monday 16:00 report, 8 h, due Tuesday 15:00.
    assert "Reactie uiterlijk: dinsdag 3 maart 2026 om 15:00" in rendered.text
    assert "servicetijden: maandag t/m vrijdag van 08:30 tot 17:30 uur" in rendered.text
    assert "Wat gebeurt er nu?" in rendered.text
    assert "laat [T-2026-000123] in het onderwerp staan" in rendered.text
    assert rendered.html is not None
    assert "<strong>dinsdag 3 maart 2026 om 15:00</strong>" in rendered.html


def test_acknowledgement_in_english(templates: Templates) -> None:
    rendered = templates.render(sample("acknowledgement"), "en-GB")
    assert rendered.subject == "[T-2026-000123] Received: Geen kiestoon op toestel 201"
    assert rendered.language == "en"
    assert "Dear Jan de Vries," in rendered.text
    assert "Response by: Tuesday 3 March 2026 at 15:00" in rendered.text
    assert "What happens next?" in rendered.text


def test_level_zero_acknowledgement_promises_no_deadline(templates: Templates) -> None:
    level_zero = sample("acknowledgement", 1)
    assert isinstance(level_zero, AcknowledgementContext) and level_zero.level_zero
    rendered = templates.render(level_zero)
    assert "[T-2026-000123]" in rendered.subject
    assert "best effort" in rendered.text
    assert "uiterlijk" not in rendered.text and "Categorie" not in rendered.text
    assert rendered.html is not None and "uiterlijk" not in rendered.html


def test_level_zero_with_a_deadline_is_refused_when_the_context_is_made() -> None:
    with pytest.raises(ValueError, match="Level 0"):
        dataclasses.replace(sample("acknowledgement"), level_zero=True)  # type: ignore[type-var]


def test_a_calamity_acknowledgement_gives_the_phone_number(templates: Templates) -> None:
    calamity = dataclasses.replace(sample("acknowledgement"), category="CAT III")  # type: ignore[type-var]
    rendered = templates.render(calamity)
    assert "Bel ons dan ook direct op +31 20 123 4567" in rendered.text
    assert "calamiteit" in rendered.text


def test_clarification_lists_what_is_missing_and_how_to_answer(templates: Templates) -> None:
    rendered = templates.render(sample("clarification"))
    assert rendered.subject == "[T-2026-000124] Aanvullende gegevens nodig: Storing"
    assert "- de locatie: de vestiging of het adres" in rendered.text
    assert "- het serienummer (S/N) of MAC-adres" in rendered.text
    # A field the rules have no wording for still reads as words, not as a code.
    assert "- cost centre" in rendered.text
    assert "Beantwoord deze e-mail en laat [T-2026-000124] in het onderwerp staan" in rendered.text
    assert "    Locatie: Hoofdstraat 12, Utrecht" in rendered.text
    english = templates.render(sample("clarification"), "en")
    assert "Reply to this e-mail and keep [T-2026-000124] in the subject" in english.text


def test_clarification_uses_the_templates_words_when_the_rules_have_none(
    templates: Templates,
) -> None:
    context = dataclasses.replace(
        sample("clarification"),  # type: ignore[type-var]
        missing=(MissingField(name="description", ask="description"),),
    )
    text = templates.render(context, "en").text
    assert "- a description of the problem" in text
    assert "for example" not in text  # no example line for a free-text field


def test_user_admin_forms_answer_gives_the_web_form_links(templates: Templates) -> None:
    both = templates.render(sample("user_admin_forms", 1))
    assert "Gebruiker aanmelden: https://example.nl/aanmelden" in both.text
    assert "Gebruiker afmelden:  https://example.nl/afmelden" in both.text
    assert "geen ticket" in both.text
    add_only = templates.render(sample("user_admin_forms", 0))
    assert "aanmelden" in add_only.text and "https://example.nl/afmelden" not in add_only.text
    assert add_only.html is not None
    assert '<a href="https://example.nl/aanmelden">' in add_only.html


def test_dispatch_and_sla_warning_for_engineers(templates: Templates) -> None:
    new = templates.render(sample("dispatch"))
    assert new.subject.startswith("[T-2026-000123] Nieuw · CAT II · Bakkerij Jansen B.V.")
    assert "Melder:              Jan de Vries <jan@bakkerij-jansen.nl>" in new.text
    assert "    Sinds vanochtend hebben wij geen kiestoon" in new.text
    assert "Met vriendelijke groet" not in new.text
    changed = templates.render(sample("dispatch", 1), "en")
    assert changed.subject.startswith("[T-2026-000123] Category CAT II → CAT III")
    assert "missing location" in changed.text
    warning = templates.render(sample("sla_warning"))
    assert "75% van de reactietijd verbruikt" in warning.subject
    breach = templates.render(sample("sla_warning", 1), "en")
    assert "SLA breached: resolution time" in breach.subject


def test_maintenance_notice_states_everything_the_sla_requires(templates: Templates) -> None:
    rendered = templates.render(sample("maintenance_notice"))
    assert rendered.subject == (
        "Gepland onderhoud op woensdag 11 maart 2026: Hosted telefonie, SIP-trunks [M-2026-0004]"
    )
    text = rendered.text
    assert "Contactpersoon:    Petra Jansen, telefoon +31 20 123 4500, noc@example.nl" in text
    assert "Tijdvak:           woensdag 11 maart 2026 van 00:00 tot 06:00 uur" in text
    assert "Verwachte duur:    ongeveer 1 uur en 30 minuten" in text
    assert "Diensten:          Hosted telefonie, SIP-trunks" in text
    assert "Reden:             Software-update van de centrale" in text
    reminder = templates.render(sample("maintenance_notice", 1), "en")
    assert reminder.subject.startswith("Reminder: planned maintenance on Wednesday 11 March 2026")
    cancelled = templates.render(sample("maintenance_cancelled"))
    assert cancelled.subject.startswith("Geannuleerd: gepland onderhoud")
    assert "Reden van de annulering: De leverancier heeft de update uitgesteld" in cancelled.text
    assert "Contactpersoon:    Petra Jansen" in cancelled.text


def test_html_is_escaped_and_text_is_not(templates: Templates) -> None:
    context = dataclasses.replace(
        sample("acknowledgement"),  # type: ignore[type-var]
        subject="<script>alert(1)</script> Tom & Jerry",
    )
    rendered = templates.render(context)
    assert rendered.html is not None
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Tom &amp; Jerry" in rendered.html
    assert "<script>alert(1)</script> Tom & Jerry" in rendered.text


def test_a_line_break_in_a_subject_does_not_reach_the_subject_line(templates: Templates) -> None:
    context = dataclasses.replace(sample("acknowledgement"), subject="Storing\r\nBcc: x@y.z")  # type: ignore[type-var]
    assert templates.render(context).subject == "[T-2026-000123] Ontvangen: Storing Bcc: x@y.z"


def test_an_unknown_language_falls_back_to_dutch(templates: Templates) -> None:
    assert templates.render(sample("acknowledgement"), "de").language == "nl"
    assert normalize_language("EN_us") == "en"
    assert normalize_language(None, default="en") == "en"


def test_an_override_is_used_first_and_the_rest_stay_built_in(tmp_path: Path) -> None:
    write(
        tmp_path, "nl/acknowledgement.txt.j2",
        '{% extends "nl/_layout.txt.j2" %}{% block subject %}Melding {{ ref }} ontvangen'
        "{% endblock %}{% block body %}Dank u.{% endblock %}",
    )  # fmt: skip
    templates = Templates(tmp_path)
    rendered = templates.render(sample("acknowledgement"))
    assert rendered.subject == "Melding T-2026-000123 ontvangen"
    assert rendered.text.startswith("Dank u.\n")
    # The HTML and the English text are still the package's.
    assert rendered.html is not None and "Wat gebeurt er nu?" in rendered.html
    assert templates.render(sample("acknowledgement"), "en").subject.startswith("[T-2026-000123]")
    assert check_templates(tmp_path) == []


def test_a_missing_variable_in_an_override_is_an_error_naming_file_and_line(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path, "nl/acknowledgement.txt.j2",
        '{% extends "nl/_layout.txt.j2" %}\n{% block subject %}[{{ ref }}]{% endblock %}\n'
        "{% block body %}\nUw ticket:\n{{ ticket_number }}\n{% endblock %}\n",
    )  # fmt: skip
    with pytest.raises(RenderError, match="ticket_number") as raised:
        Templates(tmp_path).render(sample("acknowledgement"))
    assert raised.value.problem.path == str(path)
    assert raised.value.problem.line == 5
    problems = check_templates(tmp_path)
    assert [str(p) for p in problems] == [f"{path}:5: UndefinedError: 'ticket_number' is undefined"]


def test_printing_a_value_that_is_none_is_an_error(tmp_path: Path) -> None:
    # Level 0 has no deadline; printing it without {% if %} must not write "None".
    write(
        tmp_path, "nl/acknowledgement.txt.j2",
        '{% extends "nl/_layout.txt.j2" %}{% block subject %}[{{ ref }}]{% endblock %}'
        "{% block body %}Termijn: {{ response_due }}{% endblock %}",
    )  # fmt: skip
    templates = Templates(tmp_path)
    assert "Termijn: 2026-03-03" in templates.render(sample("acknowledgement")).text
    with pytest.raises(RenderError, match="None"):
        templates.render(sample("acknowledgement", 1))
    assert any("is None" in str(p) for p in check_templates(tmp_path))


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__",
        "''.__class__.__mro__[1].__subclasses__()",
        "desk.__init__.__globals__",
        "kinds.update({'a': 'b'})",
    ],
)
def test_the_sandbox_keeps_templates_away_from_python_internals(
    tmp_path: Path, expression: str
) -> None:
    write(
        tmp_path, "en/acknowledgement.txt.j2",
        '{% extends "en/_layout.txt.j2" %}{% from "en/_labels.j2" import kinds %}'
        "{% block subject %}x{% endblock %}{% block body %}{{ " + expression + " }}{% endblock %}",
    )  # fmt: skip
    with pytest.raises(RenderError) as raised:
        Templates(tmp_path).render(sample("acknowledgement"), "en")
    assert "SecurityError: access to attribute" in str(raised.value)
    assert check_templates(tmp_path)


def test_check_reports_syntax_errors_unknown_names_and_a_missing_subject(tmp_path: Path) -> None:
    write(tmp_path, "nl/clarification.txt.j2", "{% if ref %}\nno end\n")
    write(tmp_path, "nl/acknowledgment.txt.j2", "spelt wrong")
    write(tmp_path, "nl/_my_footer.j2", "an admin's own partial is fine")
    write(
        tmp_path, "en/dispatch.txt.j2",
        '{% extends "en/_layout.txt.j2" %}{% block body %}no subject{% endblock %}',
    )  # fmt: skip
    problems = {p.template: str(p) for p in check_templates(tmp_path)}
    assert set(problems) == {
        "nl/clarification.txt.j2",
        "nl/acknowledgment.txt.j2",
        "en/dispatch.txt.j2",
    }
    assert "not a template the daemon uses" in problems["nl/acknowledgment.txt.j2"]
    assert "endif" in problems["nl/clarification.txt.j2"]
    assert "the subject is empty" in problems["en/dispatch.txt.j2"]


def test_check_reports_a_missing_override_folder(tmp_path: Path) -> None:
    [problem] = check_templates(tmp_path / "nowhere")
    assert "no such folder" in problem.message


def test_times_are_written_in_the_desks_zone_across_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    assert format_when(summer, "nl", DEFAULT_ZONE) == "woensdag 1 juli 2026 om 15:00"
    assert format_when(summer, "en", DEFAULT_ZONE) == "Wednesday 1 July 2026 at 15:00"
    with pytest.raises(ValueError, match="time zone"):
        format_when(datetime(2026, 7, 1, 13, 0), "nl", DEFAULT_ZONE)


@pytest.mark.parametrize(
    ("duration", "dutch", "english"),
    [
        (timedelta(minutes=90), "1 uur en 30 minuten", "1 hour and 30 minutes"),
        (timedelta(hours=2), "2 uur", "2 hours"),
        (timedelta(minutes=1), "1 minuut", "1 minute"),
        (timedelta(seconds=61), "2 minuten", "2 minutes"),
        (timedelta(days=1, hours=1, minutes=5), "1 dag, 1 uur en 5 minuten",
         "1 day, 1 hour and 5 minutes"),
    ],
)  # fmt: skip
def test_durations_in_words(duration: timedelta, dutch: str, english: str) -> None:
    assert format_duration(duration, "nl") == dutch
    assert format_duration(duration, "en") == english
