"""Deliveries: one message to one channel, made by a job on the ``notify`` queue.

``queue`` writes the delivery and enqueues its job in the caller's transaction (an alert's transition and its
notifications commit together). The job may run more than once (its worker died, the receiver failed):

- a delivery already ``sent`` is not sent again;
- ``sent`` is written in a short transaction of its own right after the receiver's 2xx, so only a crash in
  between repeats a send, and the repeat carries the same delivery id (the webhook's ``id`` and
  ``Belvedere-Delivery-Id``, the email's ``Message-ID``) for the receiver to recognise;
- a 4xx answer (but 408 and 429) or a refused destination is permanent: the delivery is ``dead`` at once;
  a 5xx, a timeout or an open circuit is retried with backoff, and the last failed attempt makes it ``dead``.
"""

from __future__ import annotations

import hashlib
import smtplib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy.orm import Session

from belvedere.config import MailSettings
from belvedere.notify import formats
from belvedere.notify.breaker import Breaker, CircuitOpen
from belvedere.notify.models import Channel, Delivery
from belvedere.notify.outbound import DeliveryFailed, DestinationRefused, post
from belvedere.notify.signing import DELIVERY_HEADER, HEADER, sign
from belvedere.platform.db import transaction
from belvedere.platform.errors import NotFound
from belvedere.platform.jobs import JobContext, Jobs, Permanent, RetryPolicy, job
from belvedere.platform.mail import OutboxEmail
from belvedere.platform.secretbox import SecretBox

log = structlog.get_logger(__name__)
DELIVER = "notify.deliver"
RETRY = RetryPolicy(max_attempts=8, base=timedelta(seconds=30), cap=timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class Delivering:
    """What the delivery job needs, provided by the composition root (``Jobs.provide``)."""

    box: SecretBox
    mail: MailSettings
    breaker: Breaker
    allow_private: bool = False
    timeout: float = 10.0
    domain: str = "belvedere.local"


def delivery_id(key: str) -> str:
    return "dlv_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def queue(
    session: Session,
    jobs: Jobs,
    *,
    channel: Channel,
    kind: str,
    message: dict[str, Any],
    key: str,
    org_id: int,
    rule_id: int | None = None,
    event_id: int | None = None,
) -> Delivery:
    """Record a delivery and enqueue its job, in ``session``'s transaction; the same ``key`` twice is one
    delivery."""
    ident = delivery_id(key)
    existing = session.query(Delivery).filter_by(delivery_id=ident).one_or_none()
    if existing is not None:
        return existing
    delivery = Delivery(
        delivery_id=ident,
        channel_id=channel.id,
        project_id=channel.project_id,
        rule_id=rule_id,
        event_id=event_id,
        kind=kind,
        message=message,
        status="pending",
        attempts=0,
        created_at=datetime.now(UTC),
    )
    session.add(delivery)
    session.flush()
    jobs.enqueue(
        DELIVER,
        {"delivery": delivery.id},
        key=f"deliver:{ident}",
        org_id=org_id,
        project_id=channel.project_id,
        session=session,
    )
    return delivery


def delivery_json(d: Delivery, channel_name: str | None = None) -> dict[str, Any]:
    return {
        "id": d.id,
        "delivery_id": d.delivery_id,
        "channel_id": d.channel_id,
        "channel": channel_name,
        "kind": d.kind,
        "status": d.status,
        "attempts": d.attempts,
        "response_code": d.response_code,
        "last_error": d.last_error,
        "created_at": d.created_at.isoformat(),
        "sent_at": d.sent_at.isoformat() if d.sent_at else None,
    }


def get_delivery(session: Session, project_id: int, delivery_id: int) -> dict[str, Any]:
    """One delivery of the project, as ``delivery_json`` shows it (a test message's, for its page)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.project_id != project_id:
        raise NotFound(f"There is no delivery {delivery_id} in this project.")
    channel = session.get(Channel, delivery.channel_id)
    return delivery_json(delivery, channel.name if channel else None)


@dataclass(frozen=True, slots=True)
class _Work:
    id: int
    delivery_id: str
    kind: str
    message: dict[str, Any]
    type: str
    config: dict[str, Any]
    secret: str | None


def _begin(ctx: JobContext, parts: Delivering) -> _Work | None:
    with transaction(ctx.jobs.sessions) as session:
        delivery = session.get(Delivery, int(ctx.payload["delivery"]))
        if delivery is None or delivery.status in ("sent", "dead"):
            return None  # its channel was deleted, or it is done
        channel = session.get(Channel, delivery.channel_id)
        if channel is None:
            return None
        delivery.attempts += 1
        secret = parts.box.open(channel.secret) if channel.secret else None
        return _Work(
            delivery.id,
            delivery.delivery_id,
            delivery.kind,
            delivery.message,
            channel.type,
            channel.config,
            secret,
        )


def _record(
    ctx: JobContext, work: _Work, status: str, *, code: int | None = None, error: str | None = None
) -> None:
    with transaction(ctx.jobs.sessions) as session:
        delivery = session.get(Delivery, work.id)
        if delivery is None:
            return
        delivery.status, delivery.response_code, delivery.last_error = status, code, (error or None)
        if status == "sent":
            delivery.sent_at, delivery.last_error = datetime.now(UTC), None


def _post(work: _Work, parts: Delivering) -> int:
    if work.type == "webhook":
        body = orjson.dumps(formats.webhook_body(work.message, work.delivery_id))
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: work.delivery_id}
        if work.secret:
            headers[HEADER] = sign(work.secret, body, int(time.time()))
    else:
        body = orjson.dumps(formats.slack_body(work.message))
        headers = {"Content-Type": "application/json"}
    answer = post(work.config["url"], body, headers, allow_private=parts.allow_private, timeout=parts.timeout)
    return answer.status


def _mail(ctx: JobContext, work: _Work, parts: Delivering) -> None:
    settings = parts.mail
    message = formats.email(
        work.message,
        sender=settings.sender,
        to=work.config["to"],
        delivery_id=work.delivery_id,
        domain=parts.domain,
    )
    if settings.smtp_host is None:  # no mail server: kept in the outbox, as every Belvedere email
        with transaction(ctx.jobs.sessions) as session:
            for to in work.config["to"]:
                session.add(
                    OutboxEmail(
                        recipient=to, subject=str(message["Subject"]), body=formats.summary(work.message)
                    )
                )
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=parts.timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)


def _destination(work: _Work, parts: Delivering) -> str:
    if work.type == "email":
        return f"smtp:{parts.mail.smtp_host}"
    return str(work.config["url"]).split("//", 1)[-1].split("/", 1)[0]


@job(DELIVER, queue="notify", retry=RETRY, timeout=timedelta(minutes=2))
def deliver(ctx: JobContext) -> None:
    parts = ctx.need(Delivering)
    work = _begin(ctx, parts)
    if work is None:
        return
    last = ctx.attempt >= ctx.claim.max_attempts
    where = _destination(work, parts)
    try:
        parts.breaker.before(where)
        if work.type == "email":
            _mail(ctx, work, parts)
            code = 250
        else:
            code = _post(work, parts)
    except DestinationRefused as exc:
        _record(ctx, work, "dead", error=str(exc))
        raise Permanent(str(exc)) from None
    except (CircuitOpen, DeliveryFailed, OSError, smtplib.SMTPException) as exc:
        if not isinstance(exc, CircuitOpen):
            parts.breaker.failed(where)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        _record(ctx, work, "dead" if last else "failed", code=getattr(exc, "status", None), error=error)
        raise
    if 200 <= code < 300:
        parts.breaker.succeeded(where)
        _record(ctx, work, "sent", code=code)
        return
    if 400 <= code < 500 and code not in (408, 429):
        _record(ctx, work, "dead", code=code, error=f"the receiver refused it: HTTP {code}")
        raise Permanent(f"the receiver refused the delivery: HTTP {code}")
    parts.breaker.failed(where)
    _record(ctx, work, "dead" if last else "failed", code=code, error=f"HTTP {code}")
    raise DeliveryFailed(f"the receiver answered HTTP {code}")
