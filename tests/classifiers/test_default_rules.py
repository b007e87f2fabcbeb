"""The default rules, pinned with tiny Dutch and English mails: categories, kinds, screening."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailintake.classifiers import KINDS, Classification, classify, load_rules
from mailintake.classifiers.rules import RuleSet
from mailintake.mail import Attachment
from tests.classifiers.classifier_mail import make_mail


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def judge(rules: RuleSet, body: str, subject: str = "", **kwargs: object) -> Classification:
    mail = make_mail(body, subject=subject, **kwargs)  # type: ignore[arg-type]
    return classify(mail, rules=rules, received_in_service_hours=True)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Storing", "Niemand kan bellen, alle toestellen zeggen Geen verbinding."),
        ("ALLES PLAT", "In- en uitgaand, al een half uur!"),
        ("Geen telefonie", "Sinds 9 uur heeft het hele bedrijf geen telefonie en geen internet."),
        ("Phones down", "Nobody in our office can make or receive calls."),
        ("Complete outage", "Complete outage of telephony for the whole company."),
    ],
)
def test_whole_company_outages_are_cat_iii(rules: RuleSet, subject: str, body: str) -> None:
    result = judge(rules, body, subject)
    assert (result.kind, result.category) == ("incident", "CAT III")
    assert "calamity" in result.tags


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Receptie kan niet bellen", "De rest van het kantoor heeft nergens last van."),
        ("Telefoniste", "De telefoniste krijgt geen gesprekken binnen, de lijn is dood."),
        ("Switchboard", "Our switchboard drops every call after 30 seconds."),
        ("Call centre queue", "The call centre queue is not working, agents get no calls."),
        ("Callcenter", "Het callcenter kan niet uitbellen sinds vanochtend, storing!"),
        ("Vestiging Almere", "Almere kan niet bellen, storing. De andere vestigingen werken."),
    ],
)
def test_faults_at_crucial_places_are_cat_ii(rules: RuleSet, subject: str, body: str) -> None:
    result = judge(rules, body, subject)
    assert (result.kind, result.category) == ("incident", "CAT II")


def test_a_crucial_place_while_the_rest_works_is_not_the_whole_company(rules: RuleSet) -> None:
    result = judge(
        rules,
        "Alle toestellen op de receptie geven geen kiestoon. De andere afdelingen werken gewoon.",
    )
    assert result.category == "CAT II"


@pytest.mark.parametrize(
    "body",
    [
        "Het display van mijn toestel is zwart, bellen gaat nog wel.",
        "My headset crackles on every call, colleagues are fine.",
        "Het werkt weer niet!! Bel me even.",
    ],
)
def test_other_faults_are_cat_i(rules: RuleSet, body: str) -> None:
    result = judge(rules, body)
    assert (result.kind, result.category) == ("incident", "CAT I")


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Nieuwe collega", "Maandag begint een nieuwe collega, kan zij een toestel krijgen?"),
        ("Jan", "Jan is uit dienst, graag zijn nummer verwijderen."),
        ("Afmelden", "Onze collega gaat met pensioen, het account mag worden opgeheven."),
        ("New hire", "Please set up our new hire with an extension and voicemail."),
        ("Leaver", "Anna left the company, please remove her user."),
    ],
)
def test_user_add_remove_is_answered_with_the_web_forms_and_closed(
    rules: RuleSet, subject: str, body: str
) -> None:
    result = judge(rules, body, subject)
    assert result.kind == "user_admin"
    assert result.answer_template == "user_admin_forms"
    assert result.close and not result.acknowledge and not result.incomplete


def test_a_fault_of_a_new_colleague_is_an_incident_not_a_form(rules: RuleSet) -> None:
    result = judge(rules, "Het toestel van onze nieuwe collega werkt niet.\nLocatie: Zwolle")
    assert result.kind == "incident" and not result.close


@pytest.mark.parametrize(
    ("subject", "body", "kind"),
    [
        ("Keuzemenu", "Graag optie 2 van het keuzemenu voortaan naar toestel 230.", "change"),
        ("Bouwvak", "Kunnen jullie het hoofdnummer doorschakelen naar mijn mobiel?", "change"),
        ("Hunt group", "Could you please create a new hunt group with 201 and 202?", "change"),
        (
            "Handleiding",
            "Hebben jullie een handleiding voor de nieuwe toestellen?",
            "service_request",
        ),
        ("Vraagje", "Dit is geen storing hoor, kan de app ook op een iPad?", "service_request"),
        (
            "Wachtrij",
            "Wat kost een extra wachtrij? We willen nog niets laten aanpassen.",
            "service_request",
        ),
        (
            "Portal",
            "Kunnen jullie mijn wachtwoord van het klantportaal resetten?",
            "service_request",
        ),
    ],
)
def test_changes_and_service_requests(rules: RuleSet, subject: str, body: str, kind: str) -> None:
    result = judge(rules, body, subject)
    assert (result.kind, result.category) == (kind, None)
    assert not result.incomplete


def test_out_of_office_by_header_gets_no_acknowledgement(rules: RuleSet) -> None:
    result = judge(
        rules,
        "I am out of the office until Monday.",
        "Automatic reply: [Ticket#1] storing",
        headers=(("Auto-Submitted", "auto-replied"),),
    )
    assert result.auto_reply and "auto-reply" in result.tags and not result.acknowledge


def test_out_of_office_by_wording_in_a_short_reply(rules: RuleSet) -> None:
    result = judge(
        rules,
        "Beste afzender, ik ben afwezig tot en met 21 augustus.",
        "Re: [Ticket#1] Ontvangstbevestiging",
        headers=(("In-Reply-To", "<ticket.1@cne.nl>"),),
    )
    assert result.auto_reply


def test_a_customer_who_mentions_being_away_is_not_an_auto_reply(rules: RuleSet) -> None:
    result = judge(rules, "Ik ben afwezig morgen, maar de receptie kan niet bellen. Storing!")
    assert not result.auto_reply and result.category == "CAT II"


def test_bounces_are_recognised_by_report_sender_and_wording(rules: RuleSet) -> None:
    report = judge(
        rules,
        "This is the mail system at host mx.",
        "Undelivered Mail Returned to Sender",
        headers=(("Content-Type", 'multipart/report; report-type="delivery-status"'),),
        attachments=(Attachment(None, "message/delivery-status", 300),),
    )
    daemon = judge(rules, "storing receptie", "x", sender="MAILER-DAEMON@mx.example.nl".lower())
    wording = judge(rules, "Your message could not be delivered.", "Mail could not be delivered")
    for result in (report, daemon, wording):
        assert result.auto_reply and "bounce" in result.tags and result.kind == "other"


def test_spam_flagged_by_the_server_is_marked_spam(rules: RuleSet) -> None:
    result = judge(rules, "Cheap pills", "Offer", headers=(("X-Spam-Flag", "YES"),))
    assert result.spam and not result.acknowledge


def test_mail_outside_service_hours_is_tagged(rules: RuleSet) -> None:
    mail = make_mail("Storing: geen kiestoon.")
    result = classify(mail, rules=rules, received_in_service_hours=False)
    assert "after-hours" in result.tags


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(subject=st.text(max_size=80), body=st.text(max_size=2000), sender=st.emails())
def test_any_text_classifies_without_error(
    rules: RuleSet, subject: str, body: str, sender: str
) -> None:
    result = classify(
        make_mail(body, subject=subject, sender=sender.lower()),
        rules=rules,
        received_in_service_hours=False,
    )
    assert result.kind in KINDS
    assert result.category is None or result.kind == "incident"
    assert len(result.explanation) == len(rules.rules)
