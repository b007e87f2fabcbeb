"""An engineer's mail on a ticket: commands applied, the answer relayed, the clocks moved.

Every action is an event with the engineer as actor and the mail as its cause, so the ticket's
timeline shows who did what, when and in which mail. A mail with a bad command does nothing at
all and gets an error answer; a mail with `#internal` is a note and is not relayed; any other
text is relayed to the requester (participants in Cc) from the desk's address with the
engineer's name, and counts as the response: the first one stops the response clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mailintake.intake.commands import USAGE, Instructions, read_instructions
from mailintake.intake.desk import Desk
from mailintake.intake.lifecycle import (
    change_category,
    change_clock,
    clock_changes,
    close,
    record_response,
    refresh_deadlines,
    resolve,
    start_resolution,
    wait_for_customer,
)
from mailintake.intake.notices import dispatch, send
from mailintake.mail import ParsedMail
from mailintake.notifier import CommandErrorContext, Mailbox, Parent, Purpose, RelayContext
from mailintake.storage.models import Ticket, TicketMessage
from mailintake.storage.tickets import add_event


def minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


def log_time(
    session: Session,
    ticket: Ticket,
    spent: timedelta,
    at: datetime,
    *,
    actor: str,
    message: TicketMessage | None = None,
    note: str = "",
) -> None:
    add_event(session, ticket, "time_logged", at, actor=actor, message=message,
              minutes=minutes(spent), note=note)  # fmt: skip


def handle_engineer_mail(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    message: TicketMessage,
    *,
    engineer: str,
    at: datetime,
    now: datetime,
) -> Instructions:
    actor = mail.from_address
    instructions = read_instructions(mail.new_text)
    if instructions.errors:
        message.internal = True
        add_event(session, ticket, "commands_rejected", at, actor=actor, message=message,
                  errors=list(instructions.errors))  # fmt: skip
        context = CommandErrorContext(desk=desk.mailer.letterhead, ref=ticket.ref,
                                      subject=ticket.subject, engineer=engineer,
                                      errors=instructions.errors, known=USAGE)  # fmt: skip
        send(session, desk, ticket, context, purpose=Purpose.COMMAND_ERROR,
             to=Mailbox(actor, engineer), language=desk.mailer.settings.engineers_language,
             event_type="command_error_sent", at=now, parent=Parent.of(mail),
             cause=message)  # fmt: skip
        return instructions
    message.internal = instructions.internal
    add_event(session, ticket, "engineer_mail", at, actor=actor, message=message,
              commands=[command.name for command in instructions.commands],
              internal=instructions.internal)  # fmt: skip
    apply_commands(session, desk, ticket, instructions, at, actor=actor, message=message, now=now)
    if instructions.internal or not instructions.body:
        return instructions
    relay(session, desk, ticket, instructions.body, engineer=engineer, mail=mail,
          cause=message, now=now)  # fmt: skip
    record_response(session, ticket, at, desk, actor=actor, message=message)
    return instructions


def apply_commands(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    instructions: Instructions,
    at: datetime,
    *,
    actor: str,
    message: TicketMessage,
    now: datetime,
) -> None:
    for command in instructions.commands:
        if command.name == "category" and command.value != ticket.category:
            previous = ticket.category
            change_category(session, ticket, str(command.value), at, desk, actor=actor,
                            message=message)  # fmt: skip
            dispatch(session, desk, ticket, "category_changed", cause=message, now=now,
                     previous_category=previous)  # fmt: skip
        elif command.name == "kind" and command.value != ticket.kind:
            add_event(session, ticket, "kind_changed", at, actor=actor, message=message,
                      previous=ticket.kind, kind=command.value)  # fmt: skip
            ticket.kind = str(command.value)
            if ticket.kind != "incident":
                ticket.category = None
            refresh_deadlines(ticket, desk)
        elif command.name == "plan":
            start_resolution(session, ticket, at, desk, actor=actor, message=message)
        elif command.name == "time":
            assert isinstance(command.value, timedelta)
            log_time(session, ticket, command.value, at, actor=actor, message=message)
        elif command.name == "status":
            set_status(session, desk, ticket, str(command.value), at, actor=actor, message=message)


def set_status(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    status: str,
    at: datetime,
    *,
    actor: str,
    message: TicketMessage,
) -> None:
    if status == "pending":
        wait_for_customer(session, ticket, at, desk, actor=actor, message=message)
    elif status == "resolved":
        resolve(session, ticket, at, desk, actor=actor, message=message)
    elif status == "closed":
        if ticket.status != "resolved" and clock_changes(ticket, "resolution"):
            change_clock(session, ticket, "resolution", "stop", at, actor=actor,
                         message=message, reason="closed")  # fmt: skip
        close(session, ticket, at, reason=f"closed by {actor}", message=message)
        refresh_deadlines(ticket, desk)


def relay(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    body: str,
    *,
    engineer: str,
    mail: ParsedMail,
    cause: TicketMessage,
    now: datetime,
) -> None:
    context = RelayContext(desk=desk.mailer.letterhead, ref=ticket.ref,
                           requester_name=ticket.requester_name, subject=ticket.subject,
                           engineer=engineer, body=body)  # fmt: skip
    # The thread the customer knows: their last mail on the ticket, or our first answer.
    last_in = next(
        (m for m in reversed(ticket.messages) if m.direction == "in" and m is not cause), None
    )
    parent = Parent(last_in.message_id) if last_in and last_in.message_id else None
    send(session, desk, ticket, context, purpose=Purpose.RELAY,
         to=Mailbox(ticket.requester, ticket.requester_name), language=ticket.language,
         event_type="relayed", at=now, parent=parent, cause=cause,
         sender_name=f"{engineer} ({desk.mailer.sender.name})",
         cc=[Mailbox(address) for address in ticket.participants or []])  # fmt: skip
