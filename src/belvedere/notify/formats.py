"""What a notification says, for each kind of channel: the JSON of a webhook, Slack's blocks, an email (text
and HTML, with the chart inline). ``message`` is what the alert handed over (``alerts.notices``)."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from belvedere.notify.chart import render


def _value(value: Any) -> str:
    if value is None:
        return "no value"
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def summary(message: dict[str, Any]) -> str:
    """One line: what happened, to which metric, with which value."""
    if message.get("kind") == "test":
        return str(message.get("text", "A test message from Belvedere."))
    bucket = message.get("bucket") or {}
    return (
        f"{message['metric']} was {_value(message.get('value'))} "
        f"({message['condition']}) for {bucket.get('start', '')[:16].replace('T', ' ')}"
        f"\u2013{bucket.get('end', '')[11:16]} ({message.get('timezone', 'UTC')})"
    )


def webhook_body(message: dict[str, Any], delivery_id: str) -> dict[str, Any]:
    if message.get("kind") == "test":
        return {
            "id": delivery_id,
            "test": True,
            "project_id": message.get("project_id"),
            "text": summary(message),
        }
    return {
        "id": delivery_id,
        "alert": message["alert"],
        "project_id": message["project_id"],
        "kind": message["kind"],
        "state": message["state"],
        "previous_state": message["previous_state"],
        "value": message.get("value"),
        "threshold": message.get("threshold"),
        "bucket": message.get("bucket"),
        "fired_at": message.get("fired_at"),
    }


def slack_body(message: dict[str, Any]) -> dict[str, Any]:
    title = str(message["title"])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": summary(message)}},
    ]
    alert = message.get("alert")
    if alert:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the alert"},
                        "url": alert["url"],
                    }
                ],
            }
        )
    return {"text": f"{title}: {summary(message)}", "blocks": blocks}


def email(
    message: dict[str, Any], *, sender: str, to: list[str], delivery_id: str, domain: str
) -> EmailMessage:
    """A multipart email; its Message-ID carries the delivery id, the same on every attempt."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, ", ".join(to), str(message["title"])[:200]
    mail["Message-ID"] = f"<{delivery_id}@{domain}>"
    alert = message.get("alert") or {}
    link = alert.get("url", "")
    text = summary(message) + (f"\n\nOpen the alert: {link}\n" if link else "\n")
    mail.set_content(text)
    chart = message.get("chart") or []
    image_id = make_msgid(domain=domain)
    picture = (
        f'<p><img src="cid:{image_id[1:-1]}" alt="The metric over the last buckets" width="560"></p>'
        if chart
        else ""
    )
    button = f'<p><a href="{html.escape(link)}">Open the alert</a></p>' if link else ""
    mail.add_alternative(
        f"<html><body><h2>{html.escape(str(message['title']))}</h2>"
        f"<p>{html.escape(summary(message))}</p>{picture}{button}</body></html>",
        subtype="html",
    )
    if chart:
        values = [point[1] for point in chart]
        hot = [bool(point[2]) if len(point) > 2 else False for point in chart]
        png = render(values, message.get("threshold"), hot)
        html_part = mail.get_body(preferencelist=("html",))
        assert html_part is not None
        html_part.add_related(png, maintype="image", subtype="png", cid=image_id)
    return mail
