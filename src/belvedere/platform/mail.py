"""Outgoing email: every message is written to the outbox table; with SMTP configured it is also sent.

The outbox is what the demo and mail-less installs show instead of sending, and the record of what went out
(or failed to) everywhere else.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage

import structlog
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from belvedere.config import MailSettings
from belvedere.platform.db import Base

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxEmail(Base):
    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Mailer:
    def __init__(self, settings: MailSettings, *, log_bodies: bool = False) -> None:
        """``log_bodies``: without SMTP, write each message's body (reset, verification and invitation
        links: secrets) to the log. Only in development; elsewhere the log says a message was queued and the
        outbox keeps it."""
        self._settings = settings
        self._log_bodies = log_bodies

    def send(
        self, session: Session, *, to: str, subject: str, body: str, organisation_id: int | None = None
    ) -> OutboxEmail:
        """Record the message and, when SMTP is configured, deliver it now. A delivery failure is recorded on
        the outbox row and logged; it never fails the caller's request."""
        mail = OutboxEmail(organisation_id=organisation_id, recipient=to, subject=subject, body=body)
        session.add(mail)
        if self._settings.smtp_host is None and self._log_bodies:
            # No mail server, in development: the log is where the developer reads the message.
            log.info("mail.outbox", to=to, subject=subject, body=body)
        elif self._settings.smtp_host is None:
            log.info("mail.queued", to=to, subject=subject, note="no SMTP server: kept in the outbox")
        else:
            try:
                self._deliver(to, subject, body)
                mail.sent_at = _now()
            except (OSError, smtplib.SMTPException) as exc:
                mail.error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("mail.failed", to=to, subject=subject, error=mail.error)
        session.flush()
        return mail

    def _deliver(self, to: str, subject: str, body: str) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.sender, to, subject
        message.set_content(body)
        assert s.smtp_host is not None
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(message)


def outbox(
    session: Session, *, organisation_id: int | None, recipient: str | None = None, limit: int = 100
) -> list[dict[str, object]]:
    """Emails, newest first: one organisation's (invitations, quota warnings), or with ``None`` every one —
    password resets and verifications belong to no organisation, and only the operator reads them
    (``belvedere mail outbox``)."""
    query = select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(limit)
    if organisation_id is not None:
        query = query.where(OutboxEmail.organisation_id == organisation_id)
    if recipient is not None:
        query = query.where(OutboxEmail.recipient == recipient)
    rows = session.scalars(query)
    return [
        {
            "id": m.id,
            "to": m.recipient,
            "subject": m.subject,
            "body": m.body,
            "created_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "error": m.error,
        }
        for m in rows
    ]
