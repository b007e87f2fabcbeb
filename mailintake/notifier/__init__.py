"""The notifier room: what the desk says by mail, and getting it delivered.

`templates` renders a typed context (`contexts`) into a subject, text and HTML in Dutch or
English; `compose` makes RFC 5322 bytes with a Message-ID made before sending; `outbox` queues
them in the caller's transaction; `delivery` sends what is due over SMTP (`transport`) with
retries; `loops` decides when an automatic reply must not be sent (RFC 3834). `settings` is
the `[notifier]` config section.

The names below are imported on first use: the config reads `settings` at every start of
the command, and should not pay for Jinja2 and the SMTP code each time. (`compose` the function
is not among them: import it from `notifier.compose`, whose module name it would collide with.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailintake.notifier.compose import (
        ComposedMessage,
        Mailbox,
        Parent,
        Purpose,
    )
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
    from mailintake.notifier.delivery import (
        DeliveryReport,
        Outage,
        deliver_due,
    )
    from mailintake.notifier.loops import (
        Decision,
        should_acknowledge,
        within_rate_limit,
    )
    from mailintake.notifier.outbox import (
        enqueue,
        list_outbox,
        outbox_view,
        recent_auto_replies,
        requeue,
    )
    from mailintake.notifier.settings import (
        NotifierSettings,
    )
    from mailintake.notifier.templates import (
        Rendered,
        RenderError,
        TemplateProblem,
        Templates,
        check_templates,
    )

_HOMES = {
    "ComposedMessage": "mailintake.notifier.compose",
    "Mailbox": "mailintake.notifier.compose",
    "Parent": "mailintake.notifier.compose",
    "Purpose": "mailintake.notifier.compose",
    "AcknowledgementContext": "mailintake.notifier.contexts",
    "ClarificationContext": "mailintake.notifier.contexts",
    "CommandErrorContext": "mailintake.notifier.contexts",
    "Contact": "mailintake.notifier.contexts",
    "Desk": "mailintake.notifier.contexts",
    "DispatchContext": "mailintake.notifier.contexts",
    "MailContext": "mailintake.notifier.contexts",
    "MaintenanceCancelledContext": "mailintake.notifier.contexts",
    "MaintenanceNoticeContext": "mailintake.notifier.contexts",
    "MaintenanceUnderWay": "mailintake.notifier.contexts",
    "MissingField": "mailintake.notifier.contexts",
    "RelayContext": "mailintake.notifier.contexts",
    "SlaWarningContext": "mailintake.notifier.contexts",
    "UserAdminFormsContext": "mailintake.notifier.contexts",
    "DeliveryReport": "mailintake.notifier.delivery",
    "Outage": "mailintake.notifier.delivery",
    "deliver_due": "mailintake.notifier.delivery",
    "Decision": "mailintake.notifier.loops",
    "should_acknowledge": "mailintake.notifier.loops",
    "within_rate_limit": "mailintake.notifier.loops",
    "enqueue": "mailintake.notifier.outbox",
    "list_outbox": "mailintake.notifier.outbox",
    "outbox_view": "mailintake.notifier.outbox",
    "recent_auto_replies": "mailintake.notifier.outbox",
    "requeue": "mailintake.notifier.outbox",
    "NotifierSettings": "mailintake.notifier.settings",
    "Rendered": "mailintake.notifier.templates",
    "RenderError": "mailintake.notifier.templates",
    "TemplateProblem": "mailintake.notifier.templates",
    "Templates": "mailintake.notifier.templates",
    "check_templates": "mailintake.notifier.templates",
}
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
    "deliver_due",
    "enqueue",
    "list_outbox",
    "outbox_view",
    "recent_auto_replies",
    "requeue",
    "should_acknowledge",
    "within_rate_limit",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
