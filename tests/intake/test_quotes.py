"""New text vs quoted history and signature: one tiny mail per rule, then real mail from the corpus.

The inline cases pin each marker in Dutch, English and German, and the cases where a rule must
keep the sender's words. The corpus cases measure the split on mailgun/talon's standard replies
(talon's own expectation: "Hello", or the `*_reply_text` file beside the mail), check that the
mail tagged `reply-quoted` loses its history without losing all its text, and that
email-reply-parser's body-only fixtures never keep an obvious quote.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailintake.intake.parse import parse
from mailintake.intake.quotes import Reply, split_reply

QUOTE_NL = "> Kunt u het toestel herstarten?\n>\n> Met vriendelijke groet,\n> Servicedesk\n"


def new(text: str, html: str | None = None) -> str:
    return split_reply(text, html=html).new_text


# --- attributions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Nov 3, 2025 at 10:12 AM Servicedesk <support@example.nl> wrote:",
        "Op ma 3 nov 2025 om 10:12 schreef Servicedesk <support@example.nl>:",
        "Op 3 nov. 2025 om 10:12 heeft Servicedesk <support@example.nl> het volgende geschreven:",
        "Am 03.11.2025 um 10:12 schrieb Servicedesk <support@example.nl>:",
        "Servicedesk <support@example.nl> schrieb am Mo., 3. Nov. 2025, 10:12:",
        "Jan Jansen wrote:",
        '02.04.2012 14:20 пользователь "support@example.nl" <support@example.nl> написал:',
    ],
)
def test_an_attribution_above_a_quote_starts_the_history(attribution: str) -> None:
    reply = split_reply(f"Het toestel doet het weer niet.\n\n{attribution}\n\n{QUOTE_NL}")
    assert reply.new_text == "Het toestel doet het weer niet."
    assert reply.quoted.startswith(attribution)
    assert reply.quoted.endswith("> Servicedesk")


@pytest.mark.parametrize(
    "wrapped",
    [
        "Op ma 3 nov 2025 om 10:12 schreef Servicedesk Voorbeeld B.V. <\nsupport@example.nl>:",
        "On Dec 16, 2011, at 12:47 PM, Corey Donohoe\n<reply@example.com>\nwrote:",
        "Am 03.11.2025 um 10:12 schrieb\nServicedesk <support@example.nl>:",
    ],
)
def test_an_attribution_wrapped_over_lines_is_one_marker(wrapped: str) -> None:
    reply = split_reply(f"Nog steeds storing.\n{wrapped}\n\n{QUOTE_NL}")
    assert reply.new_text == "Nog steeds storing."
    assert reply.markers[0] == "attribution"


def test_an_attribution_without_quote_marks_quotes_everything_below_it() -> None:
    text = (
        "Bedankt, het werkt.\n\nOn Wed, May 18, 2016 at 11:10 PM Servicedesk <support@x.nl>\n"
        "wrote:\n\nKunt u het toestel herstarten?\n"
    )
    reply = split_reply(text)
    assert reply.new_text == "Bedankt, het werkt."
    assert reply.quoted.endswith("Kunt u het toestel herstarten?")


def test_sentences_that_merely_start_like_an_attribution_are_kept() -> None:
    text = "On the invoice you wrote:\nthe wrong address. Please fix it.\n"
    assert new(text) == text.strip()
    text = "On your remote host you can run:\n\n    telnet 127.0.0.1 5060\n"
    assert new(text) == text.strip()


def test_an_attribution_without_address_or_quote_under_it_is_the_senders_text() -> None:
    text = (
        "Al eerder gemeld.\nOp maandag 3 november om 10:12 schreef ik al:\nToestel 201 is dood.\n"
    )
    assert new(text) == text.strip()


def test_an_address_makes_an_attribution_certain_without_a_quote_under_it() -> None:
    text = "Werkt.\n\nOp 03-11-2025 om 10:12 schreef Servicedesk <support@example.nl>:\nHoi\n"
    assert new(text) == "Werkt."


def test_the_last_line_before_a_wrapped_foreign_attribution_is_not_taken_in() -> None:
    text = "Hello\n02.04.2012 14:20 пользователь <\nsupport@example.nl> написал:\n\n> Hi\n"
    assert new(text) == "Hello"


# --- separators and Outlook header blocks ----------------------------------------------------


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Oorspronkelijk bericht-----",
        "-----Ursprüngliche Nachricht-----",
    ],
)
def test_an_original_message_separator_quotes_everything_below(separator: str) -> None:
    reply = split_reply(f"Graag een monteur.\n\n{separator}\nKunt u herstarten?\n")
    assert reply.new_text == "Graag een monteur."
    assert reply.quoted == f"{separator}\nKunt u herstarten?"
    assert reply.markers == ("separator",)


@pytest.mark.parametrize(
    "block",
    [
        "From: Servicedesk <support@example.nl>\nSent: Monday, November 3, 2025 10:12 AM\n"
        "To: Jan Jansen <jan@klant.nl>\nSubject: RE: T-2025-000123 storing",
        "________________________________\nVan: Servicedesk <support@example.nl>\n"
        "Verzonden: maandag 3 november 2025 10:12\nAan: Jan Jansen <jan@klant.nl>\n"
        "Onderwerp: RE: T-2025-000123 storing",
        "Von: Servicedesk <support@example.nl>\nGesendet: Montag, 3. November 2025 10:12\n"
        "An: Jan Jansen <jan@klant.nl>\nBetreff: AW: T-2025-000123 Störung",
        "*From:* Servicedesk [mailto:\nsupport@example.nl]\n*Sent:* Monday, November 3, 2025\n"
        "*To:* jan@klant.nl\n*Subject:* storing",
    ],
)
def test_an_outlook_header_block_quotes_everything_from_it(block: str) -> None:
    reply = split_reply(f"Graag een monteur.\n\n{block}\n\nKunt u herstarten?\n")
    assert reply.new_text == "Graag een monteur."
    assert reply.quoted == f"{block}\n\nKunt u herstarten?"
    assert reply.markers == ("header-block",)


def test_a_header_block_in_any_order_with_blank_lines_from_html_is_found() -> None:
    # GMX puts "Gesendet" first; text made from an HTML table has blank lines in between.
    block = (
        "Gesendet: Mittwoch, 03. Februar 2016 um 12:43 Uhr\n\nVon: Servicedesk <s@example.nl>"
        "\n\nAn: jan@klant.nl\n\nBetreff: Zugangsdaten"
    )
    reply = split_reply(f"Danke, klappt.\n\n{block}\n\nHier die Daten.\n")
    assert reply.new_text == "Danke, klappt."
    assert reply.quoted == f"{block}\n\nHier die Daten."


def test_a_titled_rule_above_a_header_block_is_part_of_the_history() -> None:
    # As GMX writes it; the rule's title need not be a known one.
    rule = "-------- Original-Nachricht --------"
    block = (
        "Von:     a@klant.de\nAn:      b@example.nl\nDatum:   30.05.2017 16:17\nBetreff: Invoice"
    )
    reply = split_reply(f"Erledigt.\n\n{rule}\n{block}\n\nAnbei die Rechnung.\n")
    assert reply.new_text == "Erledigt."
    assert reply.quoted.startswith(f"{rule}\n{block}")


def test_office_hours_written_like_headers_are_not_a_header_block() -> None:
    text = "We zijn bereikbaar:\nVan: 9:00\nTot: 17:00\nAan: de balie vragen naar Piet\n"
    assert new(text) == text.strip()


# --- `>` quoting ---------------------------------------------------------------------------


def test_quoted_lines_without_an_attribution_are_history() -> None:
    reply = split_reply("Ja, gedaan.\n\n> Subject: storing\n> From: support@example.nl\n> Hoi\n")
    assert reply.new_text == "Ja, gedaan."
    assert reply.markers == ("quote-marks",)


def test_a_reply_below_the_quote_is_kept() -> None:
    text = "On 04/02/2012 06:26 PM, Servicedesk wrote:\n> Kunt u herstarten?\nGedaan, werkt niet.\n"
    assert new(text) == "Gedaan, werkt niet."


def test_inline_answers_between_quotes_are_the_new_text() -> None:
    text = (
        "Op ma 3 nov 2025 om 10:12 schreef Servicedesk <support@example.nl>:\n\n"
        "> Welk toestel?\n\nToestel 201.\n\n> Sinds wanneer?\n\nSinds vanochtend.\n"
    )
    reply = split_reply(text)
    assert reply.new_text == "Toestel 201.\n\nSinds vanochtend."
    assert "> Welk toestel?" in reply.quoted and "> Sinds wanneer?" in reply.quoted


def test_a_wrapped_link_inside_a_quote_stays_in_the_quote() -> None:
    text = "Blah\n\n> View ticket (http://example.com/action\n_nonce=3dd518)\n>\n"
    assert new(text) == "Blah"


def test_a_one_word_inline_answer_is_not_taken_for_a_wrapped_link() -> None:
    text = "> Werkt toestel 201?\nNee\n> En de fax?\nJa\n"
    assert new(text) == "Nee\nJa"


# --- forwards and fallbacks ------------------------------------------------------------------


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------",
        "---------- Doorgestuurd bericht ---------",
        "-------- Weitergeleitete Nachricht --------",
        "Begin doorgestuurd bericht:",
        "Van: Piet <piet@klant.nl>\nVerzonden: maandag 3 november 2025 10:12\n"
        "Aan: Jan <jan@klant.nl>\nOnderwerp: FW: centrale geeft foutmelding",
    ],
)
def test_a_forward_is_new_text_as_a_whole(marker: str) -> None:
    # The desk needs what the customer forwarded, not only their "zie onder".
    text = f"Zie onder.\n\n{marker}\n\nDe centrale geeft foutmelding E42.\n"
    reply = split_reply(text)
    assert reply.new_text == text.strip()
    assert reply.markers == ("forward",) and not reply.fallback


def test_a_forward_inside_the_history_is_history() -> None:
    text = "Opgelost.\n\n-----Original Message-----\nFYI\n\n---------- Forwarded message ---\nx\n"
    assert new(text) == "Opgelost."


def test_a_mail_that_is_all_quote_falls_back_to_the_whole_text() -> None:
    text = "Op ma 3 nov 2025 om 10:12 schreef Servicedesk <support@example.nl>:\n> Hoi\n"
    reply = split_reply(text)
    assert reply == Reply(new_text=text.strip(), fallback=True, markers=reply.markers)
    assert reply.markers[-1] == "fallback"


def test_thanks_and_a_name_above_a_quote_is_the_message_not_a_signature() -> None:
    reply = split_reply(f"Bedankt!\nJan\n\n{QUOTE_NL}")
    assert reply.new_text == "Bedankt!\nJan"
    assert reply.signature == "" and "signature-kept" in reply.markers


def test_an_empty_body_gives_empty_new_text() -> None:
    assert split_reply("") == Reply(new_text="")
    assert split_reply(" \r\n\n") == Reply(new_text="")


def test_crlf_line_ends_are_read_like_lf() -> None:
    reply = split_reply("Storing.\r\n\r\n-----Original Message-----\r\nHoi\r\n")
    assert reply.new_text == "Storing." and reply.quoted == "-----Original Message-----\nHoi"


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", ["-- ", "--"])
def test_the_dash_dash_delimiter_starts_the_signature(delimiter: str) -> None:
    reply = split_reply(f"Lijn is dood.\n\n{delimiter}\nJan Jansen\nKlant B.V.\n")
    assert reply.new_text == "Lijn is dood."
    assert reply.signature == "--\nJan Jansen\nKlant B.V."
    assert reply.markers == ("signature:dashes",)


def test_dashes_inside_a_line_are_not_a_signature() -> None:
    text = "And here is a fix -- this is not a signature.\n\nkthxbai\n"
    assert new(text) == text.strip()


@pytest.mark.parametrize(
    "signoff",
    [
        "Met vriendelijke groet,\nJan Jansen\nKlant B.V.\nT 020 123 45 67",
        "Met vriendelijke groeten,\n\nJan Jansen",
        "Mvg,\nJan",
        "Kind regards,\nJan Jansen\nwww.klant.nl",
        "Mit freundlichen Grüßen\nJan Jansen",
        "Viele Grüße\nJan",
        "Groet, Jan",
        "Met vriendelijke groet,",
        "Met vriendelijke groet,\nJan Jansen\n\nDit bericht is vertrouwelijk en uitsluitend "
        "bestemd voor de geadresseerde. Heeft u het per vergissing ontvangen, verwijder het dan.",
    ],
)
def test_a_signoff_with_a_name_under_it_is_the_signature(signoff: str) -> None:
    reply = split_reply(f"De lijn is dood sinds vanochtend.\n\n{signoff}\n")
    assert reply.new_text == "De lijn is dood sinds vanochtend."
    assert reply.signature == signoff
    assert reply.markers == ("signature:signoff",)


@pytest.mark.parametrize(
    "text",
    [
        "Hoi,\nThanks, the router works now.\nBut the phone on desk 3 has no dial tone.",
        "Hoi,\n\nBedankt,\nhet werkt weer.",
        "Problemen:\n- toestel 1 dood\n- toestel 2 geen geluid",
        "Storing.\n\nMet vriendelijke groet,\nJan\n\nPS: ook op locatie Utrecht.",
        "Storing.\n\nGroeten,\nJan\n\nIs er al iets bekend over de storing van gisteren?",
        "Storing.\n\nGroeten,\nJan\n\nHet toestel in de vergaderzaal doet het ook niet meer.",
    ],
)
def test_a_signoff_followed_by_real_content_is_kept(text: str) -> None:
    reply = split_reply(text)
    assert reply.new_text == text
    assert reply.signature == ""


@pytest.mark.parametrize(
    "mobile",
    [
        "Sent from my iPhone",
        "Verzonden vanaf mijn iPhone",
        "Verstuurd vanaf mijn Samsung Galaxy-smartphone.",
        "Von meinem iPhone gesendet",
        "Get Outlook for Android",
    ],
)
def test_a_mobile_footer_is_the_signature(mobile: str) -> None:
    reply = split_reply(f"Storing op de centrale!\n\n{mobile}\n\n{QUOTE_NL}")
    assert reply.new_text == "Storing op de centrale!"
    assert reply.signature == mobile


def test_a_sentence_that_starts_like_a_mobile_footer_is_kept() -> None:
    text = "Here is another email\n\nSent from my desk, is much easier than my mobile phone."
    assert new(text) == text


def test_a_dash_before_a_name_at_the_end_is_the_signature() -> None:
    reply = split_reply("Oh thanks.\n\n-Abhishek Kona\n")
    assert (reply.new_text, reply.signature) == ("Oh thanks.", "-Abhishek Kona")


def test_a_signature_below_a_bottom_posted_reply_is_found() -> None:
    text = f"{QUOTE_NL}\nGedaan, helpt niet.\n\nGroet,\nJan\n"
    reply = split_reply(text)
    assert (reply.new_text, reply.signature) == ("Gedaan, helpt niet.", "Groet,\nJan")


# --- HTML ------------------------------------------------------------------------------------


def test_an_html_only_mail_is_split_from_its_html() -> None:
    html = (
        '<div dir="ltr">Nog steeds storing.</div><div class="gmail_quote">'
        '<div class="gmail_attr">Op ma 3 nov 2025 om 10:12 schreef Servicedesk '
        "&lt;support@example.nl&gt;:</div><blockquote>Kunt u herstarten?</blockquote></div>"
    )
    reply = split_reply("", html=html)
    assert reply.new_text == "Nog steeds storing."
    assert "Kunt u herstarten?" in reply.quoted


def test_the_html_quote_container_marks_history_the_text_does_not_show() -> None:
    text = "Nog steeds storing.\nToestel 201.\n\nIl 03/11/2025 Servicedesk ha scritto\nHoi\n"
    html = (
        "<p>Nog steeds storing.<br>Toestel 201.</p>"
        '<div id="divRplyFwdMsg">Il 03/11/2025 Servicedesk ha scritto</div><p>Hoi</p>'
    )
    reply = split_reply(text, html=html)
    assert reply.new_text == "Nog steeds storing.\nToestel 201."
    assert reply.markers == ("html-quote",)


def test_html_that_disagrees_with_the_text_is_ignored() -> None:
    text = "Nog steeds storing.\nToestel 201.\n"
    html = '<p>Iets heel anders.</p><blockquote type="cite">Hoi</blockquote>'
    assert new(text, html) == text.strip()


# --- properties ------------------------------------------------------------------------------

lines = st.sampled_from(
    [
        "",
        "Storing.",
        "> Hoi",
        ">",
        "-- ",
        "Met vriendelijke groet,",
        "Jan",
        "Sent from my iPhone",
        "Op ma 3 nov 2025 om 10:12 schreef Jan <jan@klant.nl>:",
        "-----Original Message-----",
        "Van: Piet <piet@klant.nl>",
        "Verzonden: maandag",
        "Aan: Jan",
        "---------- Forwarded message ---------",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=12))
def test_new_text_is_never_empty_and_only_holds_lines_of_the_text(body: list[str]) -> None:
    text = "\n".join(body)
    reply = split_reply(text)
    assert bool(reply.new_text) == bool(text.strip())
    written = {"", *(line.rstrip() for line in body)}
    assert all(line in written for line in reply.new_text.split("\n"))


def test_a_huge_body_is_split_quickly() -> None:
    log = "\n".join(
        f"2025-11-03 10:{i % 60:02d}:00 sip: 408 Request Timeout" for i in range(50_000)
    )
    started = time.perf_counter()
    reply = split_reply(f"Zie log.\n\n{log}\n\n-- \nJan\n\n{QUOTE_NL * 2000}")
    assert time.perf_counter() - started < 2
    assert reply.signature == "--\nJan" and reply.new_text.endswith("408 Request Timeout")


# --- the shared corpus -----------------------------------------------------------------------

TALON_FLOOR = 12  # of 12; talon's own extractor is held to the same


def _corpus_body(path: Path) -> tuple[str, str | None]:
    if path.parent.name == "email-reply-parser":  # body-only fixtures, no header
        return path.read_text(encoding="utf-8"), None
    mail = parse(path.read_bytes()).mail
    return mail.text, mail.html


def test_talon_standard_replies(corpus_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    talon = corpus_dir / "public" / "talon"
    right: list[str] = []
    wrong: list[str] = []
    for path in sorted(talon.glob("*.eml")):
        expected_file = path.with_name(f"{path.stem}_reply_text")
        # talon's test_standard_replies expects "Hello" where no *_reply_text file is given;
        # talon keeps the signature in the reply, so ours is put back for the comparison.
        expected = expected_file.read_text() if expected_file.exists() else "Hello"
        text, html = _corpus_body(path)
        reply = split_reply(text, html=html)
        got = "\n".join(part for part in (reply.new_text, reply.signature) if part)
        (right if got.split() == expected.split() else wrong).append(path.name)
    with capsys.disabled():
        print(f"\ntalon standard replies: {len(right)}/{len(right) + len(wrong)} right {wrong}")
    assert len(right) + len(wrong) == 12
    assert len(right) >= TALON_FLOOR, wrong


def test_talon_replies_from_their_html_part_alone(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An HTML-only mail: the text is made from the HTML. talon's Outlook fixture has different
    # words in its HTML part than in its text part.
    expected = {"outlook.eml": "Allo! Follow up MIME!"}
    results: dict[str, bool] = {}
    for path in sorted((corpus_dir / "public" / "talon").glob("*.eml")):
        html = parse(path.read_bytes()).mail.html
        if html:
            reply = split_reply("", html=html)
            results[path.name] = reply.new_text == expected.get(path.name, "Hello")
    with capsys.disabled():
        print(f"\ntalon replies from HTML alone: {sum(results.values())}/{len(results)} right")
    assert len(results) == 7 and all(results.values()), results


def test_reply_quoted_corpus_mail_loses_its_history(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = corpus_dir / "public"
    rows = (public / "categories.tsv").read_text(encoding="utf-8").splitlines()[1:]
    tagged = [line.split("\t")[0] for line in rows if "reply-quoted" in line.split("\t")[1]]
    shorter: list[str] = []
    whole: list[str] = []
    for path in tagged:
        text, html = _corpus_body(public / path)
        reply = split_reply(text, html=html)
        assert reply.new_text.strip(), path
        (shorter if len(reply.new_text) < len(text.strip()) else whole).append(path)
    with capsys.disabled():
        print(f"\nreply-quoted corpus: new text shorter for {len(shorter)}/{len(tagged)} {whole}")
    # Both are whole raw messages as text (broken MIME), not replies: zammad/mail023.box is a
    # spam's MIME dump, and mimekit's feedback report starts with a header whose Subject is
    # "FW: …", so it is read as a forward.
    assert len(tagged) == 50
    assert set(whole) <= {"zammad/mail023.box", "mimekit/messages/feedback-report.txt"}, whole


def test_email_reply_parser_fixtures_lose_the_obvious_quote(corpus_dir: Path) -> None:
    folder = corpus_dir / "public" / "email-reply-parser"
    fixtures = sorted(folder.glob("*.txt"))
    assert len(fixtures) == 24
    for path in fixtures:
        text = path.read_text(encoding="utf-8")
        reply = split_reply(text)
        assert reply.new_text and not reply.fallback, path.name
        # No quoted line and no reply header is left in what the sender wrote.
        assert not any(line.startswith(">") for line in reply.new_text.splitlines()), path.name
        assert "wrote:" not in reply.new_text and "\nFrom: " not in reply.new_text, path.name
