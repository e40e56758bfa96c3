"""What the accounts context does when something happens to an organisation: its owners hear of a new
member and of a rotated write key by email (each a listener of the domain event bus, so a mail server that
is down delays these emails and fails nothing else)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from belvedere.accounts.organisations import owners
from belvedere.platform.jobs import JobContext
from belvedere.platform.jobs.bus import DomainEvent, listen
from belvedere.platform.mail import Mailer


def _tell_owners(
    session: Session, mailer: Mailer, event: DomainEvent, subject: str, body: str, skip: int | None
) -> None:
    assert event.org_id is not None
    for owner in owners(session, organisation_id=event.org_id):
        if owner.id != skip:
            mailer.send(session, to=owner.email, subject=subject, body=body, organisation_id=event.org_id)


@listen("member.joined", "email_owners")
def member_joined(ctx: JobContext, event: DomainEvent) -> None:
    who, role = event.payload["email"], event.payload["role"]
    body = f"{who} accepted the invitation and joined as {role}.\n\nMembers are managed in the settings."
    _tell_owners(
        ctx.session,
        ctx.need(Mailer),
        event,
        f"{who} joined your organisation",
        body,
        event.payload["user_id"],
    )


@listen("key.rotated", "email_owners")
def key_rotated(ctx: JobContext, event: DomainEvent) -> None:
    project = event.payload["project"]
    body = (
        f"The write key of {project} was replaced; the old key no longer accepts events.\n\n"
        "Update the tracker snippet and the SDKs that send to it. If nobody in the organisation did this, "
        "review the security log."
    )
    _tell_owners(ctx.session, ctx.need(Mailer), event, f"The write key of {project} was rotated", body, None)
