"""The notifier room: what the desk says by mail, and getting it delivered.

`templates` renders a typed context (`contexts`) into a subject, text and HTML in Dutch or
English; `compose` makes RFC 5322 bytes with a Message-ID made before sending; `outbox` queues
them in the caller's transaction; `delivery` sends what is due over SMTP (`transport`) with
retries; `loops` decides when an automatic reply must not be sent (RFC 3834). `settings` is
the `[notifier]` config section.
"""

from mailintake.notifier.compose import ComposedMessage, Mailbox, Parent, Purpose, compose
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
from mailintake.notifier.delivery import DeliveryReport, Outage, deliver_due
from mailintake.notifier.loops import Decision, should_acknowledge, within_rate_limit
from mailintake.notifier.outbox import (
    enqueue,
    list_outbox,
    outbox_view,
    recent_auto_replies,
    requeue,
)
from mailintake.notifier.settings import NotifierSettings
from mailintake.notifier.templates import (
    Rendered,
    RenderError,
    TemplateProblem,
    Templates,
    check_templates,
)

__all__ = [
    "AcknowledgementContext",
    "ClarificationContext",
    "CommandErrorContext",
    "ComposedMessage",
    "Contact",
    "Decision",
    "DeliveryReport",
    "Desk",
    "DispatchContext",
    "MailContext",
    "Mailbox",
    "MaintenanceCancelledContext",
    "MaintenanceNoticeContext",
    "MaintenanceUnderWay",
    "MissingField",
    "NotifierSettings",
    "Outage",
    "Parent",
    "Purpose",
    "RelayContext",
    "RenderError",
    "Rendered",
    "SlaWarningContext",
    "TemplateProblem",
    "Templates",
    "UserAdminFormsContext",
    "check_templates",
    "compose",
    "deliver_due",
    "enqueue",
    "list_outbox",
    "outbox_view",
    "recent_auto_replies",
    "requeue",
    "should_acknowledge",
    "within_rate_limit",
]
