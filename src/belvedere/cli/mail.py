"""`belvedere mail outbox`: the emails Belvedere wrote, for the operator of an install without SMTP.

Without `mail.smtp_host`, messages stay in the outbox of the metadata database. An organisation's admins
read its own there (invitations, quota warnings: `GET /api/v1/orgs/{id}/outbox`); password resets and email
verifications belong to no organisation, carry secrets, and are readable only here, by whoever runs the
server.
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from belvedere.accounts.organisations import normalise_email
from belvedere.cli.common import load_settings, metadata_engine, print_rows
from belvedere.platform.db import make_session_factory, transaction
from belvedere.platform.mail import outbox as read_outbox

app = typer.Typer(
    help="Read the emails Belvedere wrote (the outbox).", no_args_is_help=True, add_completion=False
)


@app.command("outbox")
def outbox(
    to: Annotated[str | None, typer.Option(help="Only the emails to this address.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    body: Annotated[bool, typer.Option(help="Print each email's text (it may hold a reset link).")] = False,
    json: Annotated[bool, typer.Option("--json", help="One JSON document, bodies included.")] = False,
) -> None:
    """List the newest emails of every organisation and of none (resets, verifications)."""
    settings = load_settings()
    recipient = normalise_email(to) if to else None
    with transaction(make_session_factory(metadata_engine(settings))) as session:
        mails = read_outbox(session, organisation_id=None, recipient=recipient, limit=limit)
    if json:
        typer.echo(orjson.dumps(mails, option=orjson.OPT_INDENT_2).decode())
        return
    if not mails:
        typer.echo("The outbox is empty" + (f" for {recipient}." if recipient else "."))
        return
    if body:
        for mail in mails:
            typer.echo(f"--- #{mail['id']} {mail['created_at']} to {mail['to']}: {mail['subject']}")
            typer.echo(str(mail["body"]))
        return
    header = ("id", "created", "to", "subject", "sent")
    rows = [
        (str(m["id"]), str(m["created_at"])[:19], str(m["to"]), str(m["subject"]), str(m["sent_at"] or "—"))
        for m in mails
    ]
    print_rows(header, rows)
