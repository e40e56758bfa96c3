"""Who is calling and what they may do: every API route but the public auth ones declares an ``Access``
requirement, which the role-by-endpoint matrix test reads from the route table.

Credentials, in order: a project read key (``bk_…``, only on routes that accept it), a personal API key
(``bp_…``), a JWT access token, or the web session cookie (then unsafe methods need the CSRF token).
A resource of an organisation the caller does not belong to answers 404, never 403: its existence is not
revealed. Within the organisation, too low a role answers 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from belvedere.accounts.grants import Grant, ProjectGrant
from belvedere.accounts.grants import audit as record
from belvedere.accounts.models import Organisation, User
from belvedere.accounts.organisations import OrgView, membership
from belvedere.accounts.personal_keys import KeyOwner, authenticate_key
from belvedere.accounts.plans import is_live
from belvedere.accounts.roles import Role, at_least, capped
from belvedere.accounts.service import ProjectInfo, find_project_by_api_key, get_project
from belvedere.auth.securitylog import Origin, origin
from belvedere.auth.tokens import InvalidToken
from belvedere.platform.db import transaction
from belvedere.platform.errors import Unauthorized
from belvedere.runtime import Runtime
from belvedere.web.errors import ApiError

ACCESS_COOKIE = "bv_access"
CSRF_COOKIE = "bv_csrf"
REFRESH_COOKIE = "bv_refresh"
REFRESH_COOKIE_PATH = "/"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT access token, a personal API key (`bp_…`) or, on project read routes, a project "
    "read key (`bk_…`).",
)


async def runtime_of(request: Request) -> Runtime:
    """Async on purpose: FastAPI runs plain functions in a thread pool, a hop that costs more than this."""
    return get_runtime(request)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]


def _unit_of_work(runtime: RuntimeDep) -> Iterator[Session]:
    """One metadata transaction per request: committed when the route function returns, rolled back when
    it raises, and its after-commit actions (``platform.db.after_commit``) run — all before the response
    is sent, so a client never sees a success that was not committed."""
    with transaction(runtime.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(_unit_of_work, scope="function")]


def csrf_token(secret: str, session_family: str) -> str:
    """The CSRF token of a cookie session: derived from its refresh family, so it needs no storage and
    another session's (or an attacker's) token never matches."""
    return hmac.new(secret.encode(), f"csrf:{session_family}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller, before any organisation is involved."""

    user_id: int | None = None
    email: str | None = None
    key: KeyOwner | None = None
    project: ProjectInfo | None = None  # a project read key
    family: str | None = None  # the login session of an access token or cookie


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _from_token(runtime: Runtime, token: str) -> Caller:
    with transaction(runtime.sessions) as session:
        try:
            user = runtime.auth.user_for_access_token(session, token)
        except InvalidToken:
            raise _unauthorized(
                "The access token is invalid or expired; refresh it or log in again."
            ) from None
        return Caller(user_id=user.id, email=user.email, family=runtime.auth.tokens.session_family(token))


def authenticate(
    request: Request, runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> Caller:
    if credentials is not None:
        secret = credentials.credentials
        if secret.startswith("bk_"):
            with transaction(runtime.sessions) as session:
                project = find_project_by_api_key(session, api_key=secret)
            if project is None:
                raise _unauthorized("Unknown or revoked API key.")
            return Caller(project=project)
        if secret.startswith("bp_"):
            with transaction(runtime.sessions) as session:
                owner = authenticate_key(session, secret=secret)
                user = session.get(User, owner.user_id) if owner else None
                email = user.email if user else None
            if owner is None:
                raise _unauthorized("Unknown or revoked API key.")
            return Caller(user_id=owner.user_id, email=email, key=owner)
        return _from_token(runtime, secret)
    cookie = request.cookies.get(ACCESS_COOKIE)
    if cookie:
        caller = _from_token(runtime, cookie)
        if request.method not in SAFE_METHODS:
            _check_csrf(request, runtime, cookie)
        return caller
    raise _unauthorized("Log in, or send `Authorization: Bearer <access token or API key>`.")


def _check_csrf(request: Request, runtime: Runtime, access_cookie: str) -> None:
    family = runtime.auth.tokens.session_family(access_cookie)
    sent = request.headers.get(CSRF_HEADER, "")
    expected = csrf_token(runtime.settings.secret_key, family) if family else None
    if expected is None or not hmac.compare_digest(sent, expected):
        raise ApiError(403, "csrf_failed", "Missing or wrong CSRF token: reload the page and try again.")


def current_caller(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return authenticate(request, runtime, credentials)


CallerDep = Annotated[Caller, Depends(current_caller)]


async def signed_in(request: Request, caller: CallerDep) -> Caller:
    """Any user, through a token, cookie or personal key; project read keys are not users. A personal key
    acts only within its organisation: it may read the account (``GET /me``) but not change it (new
    organisations, password, invitations), which takes the user's own session."""
    if caller.user_id is None:
        raise ApiError(403, "forbidden", "This endpoint needs a user's credentials, not a project key.")
    if caller.key is not None and request.method not in SAFE_METHODS:
        raise ApiError(
            403,
            "session_required",
            "A personal API key acts only within its organisation; log in (or use an access token) to "
            "change the account itself.",
        )
    return caller


SignedIn = Annotated[Caller, Depends(signed_in)]


def caller_user(session: Session, caller: Caller) -> User:
    """The signed-in caller's account, as of this transaction."""
    user = session.get(User, caller.user_id)
    if user is None:  # deleted between authentication and now
        raise Unauthorized("This account no longer exists.")
    return user


def subdomain_slug(request: Request, base: str | None) -> str | None:
    """The organisation slug a host such as ``acme.example.com`` names, with ``base`` = ``example.com``."""
    if not base:
        return None
    host = request.headers.get("host", "").split(":")[0].lower().rstrip(".")
    suffix = "." + base.lower().strip(".")
    label = host[: -len(suffix)] if host.endswith(suffix) else ""
    return label if label and "." not in label else None


def request_origin(request: Request) -> Origin:
    """The request's origin as the security log keeps it: a keyed hash of the IP, the user agent."""
    ip = request.client.host if request.client else None
    return origin(get_runtime(request).settings.secret_key, ip, request.headers.get("user-agent"))


def audit(session: Session, grant: Grant, request: Request, kind: str, **detail: Any) -> None:
    """One line in the security log of the organisation the request acts on."""
    record(session, grant, request_origin(request), kind, **detail)


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}, or it belongs to an organisation you are not in.")


class Access:
    """Route requirement: the least role needed in the organisation the path names (``org_id``, or the
    organisation of ``project_id``); ``project_key`` lets a project read key through on that project;
    ``reads`` marks a POST that only reads (a query), so a lapsed organisation may still send it."""

    def __init__(self, role: Role, *, project_key: bool = False, reads: bool = False) -> None:
        self.role = role
        self.project_key = project_key
        self.reads = reads

    def __call__(self, request: Request, runtime: RuntimeDep, caller: CallerDep) -> Grant:
        params = request.path_params
        project: ProjectInfo | None = None
        with transaction(runtime.sessions) as session:
            org_id: int | None
            if "project_id" in params:
                project_id = _int(params["project_id"])
                project = get_project(session, project_id=project_id) if project_id else None
                if project is None:
                    raise _not_found("project")
                org_id = project.organisation_id
            else:
                org_id = _int(params.get("org_id"))
            org = session.get(Organisation, org_id) if org_id else None
            if org is None:
                raise _not_found("organisation")
            view = OrgView.of(org)
            pinned = subdomain_slug(request, runtime.settings.auth.org_subdomain_base)
            if pinned is not None and pinned != view.slug:  # acme.example.com reaches acme's data only
                raise _not_found("project" if project else "organisation")
            role = self._role(session, caller, view, project)
        if not at_least(role, self.role):
            raise ApiError(403, "forbidden", f"This needs the {self.role} role or above; you are {role}.")
        writes = request.method not in SAFE_METHODS and not self.reads
        if writes and not is_live(view.status, view.expires_at):
            raise ApiError(
                403,
                "subscription_expired",
                f"The organisation is {view.status if view.status in ('suspended', 'expired') else 'expired'}"
                ": it is read-only until its subscription is renewed. Your data is kept.",
            )
        verdict = runtime.throttle.api(view)
        if verdict is not None:
            request.state.rate_limit_headers = verdict.headers()
            if not verdict.allowed:
                raise ApiError(
                    429,
                    "rate_limited",
                    f"The {view.plan} plan allows {verdict.limit} API requests per "
                    f"{verdict.window_seconds // 60} minutes; retry after {verdict.reset_seconds} s.",
                    headers=verdict.headers(),
                )
        if project is not None:
            return ProjectGrant(org=view, role=role, user_id=caller.user_id, project=project)
        return Grant(org=view, role=role, user_id=caller.user_id)

    def _role(self, session: Session, caller: Caller, org: OrgView, project: ProjectInfo | None) -> Role:
        if caller.project is not None:
            if self.project_key and project is not None and caller.project.id == project.id:
                return "viewer"
            raise _not_found("project" if project else "organisation")
        if caller.key is not None and caller.key.organisation_id != org.id:
            raise _not_found("project" if project else "organisation")
        assert caller.user_id is not None
        member = membership(session, organisation_id=org.id, user_id=caller.user_id)
        if member is None:
            raise _not_found("project" if project else "organisation")
        role: Role = member.role  # type: ignore[assignment]
        return capped(role, caller.key.scopes) if caller.key else role


def _int(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number < 2**31 else None


class ProjectAccess(Access):
    """``Access`` for routes under ``/projects/{project_id}``: the grant always names the project."""

    def __call__(self, request: Request, runtime: RuntimeDep, caller: CallerDep) -> ProjectGrant:
        grant = super().__call__(request, runtime, caller)
        if not isinstance(grant, ProjectGrant):  # a route without {project_id} in its path
            raise TypeError(f"{request.url.path} names no project")
        return grant


Viewer = Annotated[Grant, Depends(Access("viewer"))]
Member = Annotated[Grant, Depends(Access("member"))]
Admin = Annotated[Grant, Depends(Access("admin"))]
Owner = Annotated[Grant, Depends(Access("owner"))]
ProjectViewer = Annotated[ProjectGrant, Depends(ProjectAccess("viewer"))]
ProjectMember = Annotated[ProjectGrant, Depends(ProjectAccess("member"))]
ProjectAdmin = Annotated[ProjectGrant, Depends(ProjectAccess("admin"))]
ProjectReader = Annotated[ProjectGrant, Depends(ProjectAccess("viewer", project_key=True, reads=True))]


def public_throttle(request: Request, runtime: RuntimeDep) -> None:
    """Endpoints that need no account but send email or create accounts: a budget per IP per hour."""
    limit = runtime.settings.auth.public_requests_per_hour
    verdict = runtime.limiter.hit(f"public:{request_origin(request).ip_hash}", limit, 60)
    request.state.rate_limit_headers = verdict.headers()
    if not verdict.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"Too many requests from this address; retry after {verdict.reset_seconds} s.",
            headers=verdict.headers(),
        )


PUBLIC_THROTTLE = [Depends(public_throttle)]
