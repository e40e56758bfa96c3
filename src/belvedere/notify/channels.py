"""A project's notification channels: email addresses, a Slack incoming webhook, or a signed webhook.

A webhook's signing secret is generated unless given, shown once (in the answer that creates or rotates
it) and stored sealed. Slack's URL is itself a credential: answers show only its host and last characters.
Email and Slack channels need the plan's ``alerts`` feature, webhooks its ``webhooks`` feature.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.accounts.organisations import EMAIL_PATTERN
from belvedere.accounts.plans import Plans
from belvedere.notify.models import Channel
from belvedere.notify.outbound import check_url
from belvedere.notify.signing import new_secret
from belvedere.platform.errors import Conflict, Invalid, NotFound
from belvedere.platform.secretbox import SecretBox

PURPOSE = "belvedere-webhook-secrets"
MAX_CHANNELS = 50  # per project
FEATURE = {"email": "alerts", "slack": "alerts", "webhook": "webhooks"}


def _url(value: str) -> str:
    return check_url(value)


class EmailChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["email"]
    name: str = Field(min_length=1, max_length=200)
    to: list[Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]] = Field(
        min_length=1, max_length=10
    )


class SlackChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["slack"]
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(description="The Slack incoming-webhook URL.")

    _check = field_validator("url")(classmethod(lambda cls, v: _url(v)))


class WebhookChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook"]
    name: str = Field(min_length=1, max_length=200)
    url: str
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="Signing secret; generated (and shown once) if omitted.",
    )

    _check = field_validator("url")(classmethod(lambda cls, v: _url(v)))


ChannelDraft = Annotated[EmailChannel | SlackChannel | WebhookChannel, Field(discriminator="type")]


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    to: list[Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]] | None = Field(
        None, min_length=1, max_length=10
    )
    url: str | None = None
    rotate_secret: bool = Field(False, description="Webhooks: a new signing secret, shown once.")

    _check = field_validator("url")(classmethod(lambda cls, v: v if v is None else _url(v)))


def masked(url: str) -> str:
    """A Slack URL shown without its secret part: the host and the last four characters."""
    host = url.split("//", 1)[-1].split("/", 1)[0]
    return f"https://{host}/…{url[-4:]}"


def channel_json(channel: Channel, *, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": channel.id,
        "type": channel.type,
        "name": channel.name,
        "created_at": channel.created_at.isoformat(),
    }
    if channel.type == "email":
        out["to"] = channel.config["to"]
    elif channel.type == "slack":
        out["url"] = masked(channel.config["url"])
    else:
        out["url"] = channel.config["url"]
        out["secret_set"] = channel.secret is not None
    if secret is not None:
        out["secret"] = secret  # once, in the answer that made it
    return out


class Channels:
    """The use cases, with what they need from the composition root."""

    def __init__(self, box: SecretBox, plans: Plans) -> None:
        self.box = box
        self.plans = plans

    def create(
        self,
        session: Session,
        *,
        project_id: int,
        plan: str,
        draft: EmailChannel | SlackChannel | WebhookChannel,
        user_id: int | None,
    ) -> tuple[Channel, str | None]:
        self.plans.require_feature(plan, FEATURE[draft.type])
        count = len(list_channels(session, project_id))
        if count >= MAX_CHANNELS:
            raise Conflict(f"A project has at most {MAX_CHANNELS} channels; remove one first.")
        secret = None
        config: dict[str, Any]
        if isinstance(draft, EmailChannel):
            config = {"to": sorted(set(draft.to), key=draft.to.index)}
        else:
            config = {"url": draft.url}
        if isinstance(draft, WebhookChannel):
            secret = draft.secret or new_secret()
        channel = Channel(
            project_id=project_id,
            type=draft.type,
            name=draft.name,
            config=config,
            secret=self.box.seal(secret) if secret else None,
            created_by=user_id,
            created_at=datetime.now(UTC),
        )
        session.add(channel)
        session.flush()
        return channel, (secret if isinstance(draft, WebhookChannel) and draft.secret is None else None)

    def update(
        self, session: Session, *, project_id: int, channel_id: int, patch: ChannelPatch
    ) -> tuple[Channel, str | None]:
        channel = get_channel(session, project_id, channel_id)
        if patch.name is not None:
            channel.name = patch.name
        if patch.to is not None:
            if channel.type != "email":
                raise _invalid("only an email channel has addresses (to)")
            channel.config = {"to": patch.to}
        if patch.url is not None:
            if channel.type == "email":
                raise _invalid("an email channel has no url")
            channel.config = {"url": patch.url}
        secret = None
        if patch.rotate_secret:
            if channel.type != "webhook":
                raise _invalid("only a webhook channel has a signing secret")
            secret = new_secret()
            channel.secret = self.box.seal(secret)
        session.flush()
        return channel, secret

    def secret_of(self, channel: Channel) -> str | None:
        return self.box.open(channel.secret) if channel.secret else None


def _invalid(message: str) -> Exception:
    return Invalid(message)


def list_channels(session: Session, project_id: int) -> list[Channel]:
    return list(session.scalars(select(Channel).where(Channel.project_id == project_id).order_by(Channel.id)))


def get_channel(session: Session, project_id: int, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None or channel.project_id != project_id:
        raise NotFound(f"There is no channel {channel_id} in this project.")
    return channel


def delete_channel(session: Session, project_id: int, channel_id: int) -> None:
    session.delete(get_channel(session, project_id, channel_id))
