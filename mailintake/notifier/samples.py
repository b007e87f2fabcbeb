"""Example contexts for every kind of mail, used by `mailintake templates check` and the tests.

Each kind has its main case and each variant its templates branch on (Level 0, no name, a
category change, a breach, a reminder, a cancellation with and without a reason), so a check
renders every path an admin's template may have broken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailintake.notifier.contexts import (
    AcknowledgementContext,
    ClarificationContext,
    CommandErrorContext,
    Contact,
    Desk,
    DispatchContext,
    MailContext,
    MaintenanceCancelledContext,
    MaintenanceNoticeContext,
    MaintenanceUnderWay,
    MissingField,
    RelayContext,
    SlaWarningContext,
    UserAdminFormsContext,
)


def _samples() -> dict[str, tuple[MailContext, ...]]:
    """Every kind with realistic values, and each variant a template branches on."""
    desk = Desk(name="CNE Servicedesk", address="support@example.nl", phone="+31 20 123 4567")
    # Reported Monday 2 March 2026 16:00 in Amsterdam, 8 h response: due Tuesday 15:00.
    due = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    contact = Contact(name="Petra Jansen", phone="+31 20 123 4500", email="noc@example.nl")
    start = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    end = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)
    acknowledgement = AcknowledgementContext(
        desk=desk,
        ref="T-2026-000123",
        requester_name="Jan de Vries",
        subject="Geen kiestoon op toestel 201",
        ticket_kind="incident",
        category="CAT II",
        customer="Bakkerij Jansen B.V.",
        level_zero=False,
        response_due=due,
        service_hours="maandag t/m vrijdag van 08:30 tot 17:30 uur",
    )
    dispatch = DispatchContext(
        desk=desk,
        change="new",
        ref="T-2026-000123",
        subject="Geen kiestoon op toestel 201",
        requester="jan@bakkerij-jansen.nl",
        requester_name="Jan de Vries",
        customer="Bakkerij Jansen B.V.",
        plan="premium",
        ticket_kind="incident",
        category="CAT II",
        previous_category=None,
        response_due=due,
        resolution_due=due + timedelta(hours=4),
        missing=(),
        excerpt="Sinds vanochtend hebben wij geen kiestoon op toestel 201.",
        reasons=("no-dial-tone: 'geen kiestoon' in body",),
    )
    notice = MaintenanceNoticeContext(
        desk=desk,
        reference="M-2026-0004",
        customer="Bakkerij Jansen B.V.",
        contact=contact,
        start=start,
        end=end,
        expected_duration=timedelta(minutes=90),
        services=("Hosted telefonie", "SIP-trunks"),
        reason="Software-update van de centrale",
    )
    relay = RelayContext(
        desk=desk,
        ref="T-2026-000123",
        requester_name="Jan de Vries",
        subject="Geen kiestoon op toestel 201",
        engineer="Eva de Boer",
        body="Beste Jan,\n\nWe hebben het toestel opnieuw geregistreerd. Werkt het nu weer?",
    )
    command_error = CommandErrorContext(
        desk=desk,
        ref="T-2026-000123",
        subject="Geen kiestoon op toestel 201",
        engineer="Eva de Boer",
        errors=("#categorie CAT II: unknown command",),
        known=("#category CAT II", "#time 20m"),
    )
    return {
        "relay": (relay,),
        "command_error": (command_error,),
        "acknowledgement": (
            acknowledgement,
            AcknowledgementContext(
                **{
                    **acknowledgement.variables(),
                    "level_zero": True,
                    "response_due": None,
                    "customer": None,
                    "category": None,
                },
            ),
            AcknowledgementContext(
                **{
                    **acknowledgement.variables(),
                    "ticket_kind": "service_request",
                    "category": None,
                    "requester_name": "",
                },
            ),
            AcknowledgementContext(
                **{
                    **acknowledgement.variables(),
                    "maintenance": MaintenanceUnderWay(
                        reference="M-2026-0007",
                        services=("voip",),
                        start=start,
                        end=end,
                        reason="Software-update van de centrale",
                    ),
                },
            ),
        ),
        "clarification": (
            ClarificationContext(
                desk=desk,
                ref="T-2026-000124",
                requester_name="Jan de Vries",
                subject="Storing",
                missing=(
                    MissingField(
                        name="location",
                        ask="de locatie: de vestiging of het adres waar het probleem zich voordoet",
                    ),
                    MissingField(
                        name="serial",
                        ask="het serienummer (S/N) of MAC-adres van "
                        "het toestel, te vinden op de sticker onderop",
                    ),
                    MissingField(name="cost_centre", ask="cost_centre"),
                ),
            ),
        ),
        "user_admin_forms": (
            UserAdminFormsContext(
                desk=desk,
                requester_name="Jan de Vries",
                subject="Nieuwe medewerker",
                add_user_url="https://example.nl/aanmelden",
                remove_user_url="https://example.nl/afmelden",
                action="add",
            ),
            UserAdminFormsContext(
                desk=desk,
                requester_name="",
                subject="Gebruikers",
                add_user_url="https://example.nl/aanmelden",
                remove_user_url="https://example.nl/afmelden",
            ),
        ),
        "dispatch": (
            dispatch,
            DispatchContext(
                **{
                    **dispatch.variables(),
                    "change": "category_changed",
                    "category": "CAT III",
                    "previous_category": "CAT II",
                    "plan": None,
                    "customer": None,
                    "response_due": None,
                    "resolution_due": None,
                    "missing": ("location",),
                    "reasons": (),
                },
            ),
        ),
        "sla_warning": (
            SlaWarningContext(
                desk=desk,
                ref="T-2026-000123",
                subject="Geen kiestoon op toestel 201",
                customer="Bakkerij Jansen B.V.",
                plan="premium",
                category="CAT II",
                metric="response",
                threshold=0.75,
                due=due,
            ),
            SlaWarningContext(
                desk=desk,
                ref="T-2026-000123",
                subject="Geen kiestoon op toestel 201",
                customer=None,
                plan=None,
                category=None,
                metric="resolution",
                threshold=1.0,
                due=due,
            ),
        ),
        "maintenance_notice": (
            notice,
            MaintenanceNoticeContext(
                **{
                    **notice.variables(),
                    "reminder": True,
                    "customer": None,
                    "contact": Contact(name="Petra Jansen"),
                },
            ),
        ),
        "maintenance_cancelled": (
            MaintenanceCancelledContext(
                **{k: v for k, v in notice.variables().items() if k != "reminder"},
                cancel_reason="De leverancier heeft de update uitgesteld",
            ),
            MaintenanceCancelledContext(
                **{k: v for k, v in notice.variables().items() if k != "reminder"},
            ),
        ),
    }


SAMPLES: dict[str, tuple[MailContext, ...]] = _samples()
