"""The signed-in user's own account through the API: name, email change, sessions, two-factor
authentication. The same use cases as the account page (``auth``, ``accounts.profile``); a personal API key
may read here but not change anything (``signed_in``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints

from belvedere.accounts.organisations import EMAIL_PATTERN
from belvedere.accounts.profile import NAME_LENGTH, rename_user
from belvedere.accounts.projects import visible_project_ids
from belvedere.auth import login_sessions
from belvedere.auth.securitylog import organisations_of_user
from belvedere.notify import inbox
from belvedere.web.access import RuntimeDep, SessionDep, SignedIn, caller_user, request_origin
from belvedere.web.ids import PathId

router = APIRouter(prefix="/api/v1/me", tags=["account"])

Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class ProfileBody(BaseModel):
    name: str = Field(max_length=NAME_LENGTH, description="The display name; empty to show the email.")


class EmailBody(BaseModel):
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    ]
    password: Password = Field(description="The current password.")


class PasswordBody(BaseModel):
    password: Password = Field(description="The current password.")


class CodeBody(BaseModel):
    code: Code = Field(description="A code from the authenticator app (or, where said, a recovery code).")


class DisableBody(BaseModel):
    password: Password = Field(description="The current password.")
    code: Code = Field(description="A code from the authenticator app, or a recovery code.")


@router.patch("", summary="Change the display name")
def update_me(body: ProfileBody, caller: SignedIn, session: SessionDep) -> dict[str, Any]:
    return {"name": rename_user(session, user=caller_user(session, caller), name=body.name)}


@router.post(
    "/email",
    status_code=202,
    summary="Change the email: a link goes to the new address, which replaces the old once it is opened",
)
def change_email(
    body: EmailBody, caller: SignedIn, request: Request, session: SessionDep, runtime: RuntimeDep
) -> dict[str, str]:
    address = runtime.auth.request_email_change(
        session,
        user=caller_user(session, caller),
        password=body.password,
        new_email=body.email,
        where=request_origin(request),
    )
    return {"status": "sent", "pending_email": address}


@router.get("/sessions", summary="The account's open login sessions (the caller's marked `current`)")
def list_sessions(caller: SignedIn, session: SessionDep) -> dict[str, Any]:
    assert caller.user_id is not None
    views = login_sessions.list_sessions(session, user_id=caller.user_id, current_family=caller.family)
    return {
        "results": [
            {
                "id": v.id,
                "device": v.device,
                "created_at": v.created_at.isoformat(),
                "last_seen_at": v.last_seen_at.isoformat(),
                "current": v.current,
            }
            for v in views
        ]
    }


@router.delete("/sessions/{session_id}", status_code=204, summary="Sign one session out")
def revoke_session(session_id: PathId, caller: SignedIn, request: Request, session: SessionDep) -> None:
    assert caller.user_id is not None
    login_sessions.revoke_session(
        session,
        user_id=caller.user_id,
        session_id=session_id,
        org_ids=organisations_of_user(session, caller.user_id),
        where=request_origin(request),
    )


@router.delete("/sessions", summary="Sign out every session but the caller's")
def revoke_other_sessions(caller: SignedIn, request: Request, session: SessionDep) -> dict[str, int]:
    assert caller.user_id is not None
    ended = login_sessions.revoke_other_sessions(
        session,
        user_id=caller.user_id,
        keep_family=caller.family,
        org_ids=organisations_of_user(session, caller.user_id),
        where=request_origin(request),
    )
    return {"revoked": ended}


@router.get("/two-factor", summary="Whether two-factor authentication is on, and the recovery codes left")
def two_factor_state(caller: SignedIn, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    state = runtime.auth.two_factor.state(session, user=caller_user(session, caller))
    return {
        "enabled": state.enabled,
        "enrolment_pending": state.enrolment is not None,
        "recovery_codes_left": state.recovery_codes_left,
    }


@router.post(
    "/two-factor",
    status_code=201,
    summary="Start setting up two-factor authentication: a new secret, until a code confirms it",
)
def start_two_factor(
    body: PasswordBody, caller: SignedIn, session: SessionDep, runtime: RuntimeDep
) -> dict[str, str]:
    enrolment = runtime.auth.two_factor.begin(
        session, user=caller_user(session, caller), password=body.password
    )
    return {"secret": enrolment.secret, "otpauth_uri": enrolment.uri}


@router.post(
    "/two-factor/confirm",
    summary="Turn two-factor authentication on with a first code; answers the recovery codes, shown once",
)
def confirm_two_factor(
    body: CodeBody, caller: SignedIn, request: Request, session: SessionDep, runtime: RuntimeDep
) -> dict[str, list[str]]:
    codes = runtime.auth.two_factor.confirm(
        session, user=caller_user(session, caller), code=body.code, where=request_origin(request)
    )
    return {"recovery_codes": codes}


@router.post("/two-factor/recovery-codes", summary="Replace the recovery codes (the old ones stop working)")
def new_recovery_codes(
    body: CodeBody, caller: SignedIn, request: Request, session: SessionDep, runtime: RuntimeDep
) -> dict[str, list[str]]:
    codes = runtime.auth.two_factor.regenerate(
        session, user=caller_user(session, caller), code=body.code, where=request_origin(request)
    )
    return {"recovery_codes": codes}


@router.post("/two-factor/disable", status_code=204, summary="Turn two-factor authentication off")
def disable_two_factor(
    body: DisableBody, caller: SignedIn, request: Request, session: SessionDep, runtime: RuntimeDep
) -> None:
    runtime.auth.two_factor.disable(
        session,
        user=caller_user(session, caller),
        password=body.password,
        code=body.code,
        where=request_origin(request),
    )


class ReadBody(BaseModel):
    up_to: int = Field(ge=0, le=2**62, description="The newest notification id read.")


@router.get(
    "/notifications", summary="The latest notifications of the caller's projects, and how many are unread"
)
def notifications(caller: SignedIn, session: SessionDep, limit: int = 20) -> dict[str, Any]:
    user = caller_user(session, caller)
    projects = visible_project_ids(session, user.id)
    return {
        "unread": inbox.unread(session, user_id=user.id, project_ids=projects),
        "results": inbox.latest(
            session, user_id=user.id, project_ids=projects, limit=max(1, min(limit, 100))
        ),
    }


@router.post("/notifications/read", status_code=204, summary="Mark notifications read up to an id")
def read_notifications(body: ReadBody, caller: SignedIn, session: SessionDep) -> None:
    inbox.mark_read(session, user_id=caller_user(session, caller).id, up_to=body.up_to)
