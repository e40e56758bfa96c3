"""The authentication use cases: sign-up, login (with its second step when two-factor authentication is on),
refresh rotation, logout, password change and reset, email verification and change. Methods take the
caller's session and never commit."""

from __future__ import annotations

import contextlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from belvedere.accounts.keys import hash_key
from belvedere.accounts.models import Organisation, User
from belvedere.accounts.organisations import (
    EMAIL_PATTERN,
    Conflict,
    create_organisation,
    create_user,
    find_user,
    normalise_email,
)
from belvedere.auth import login_sessions, securitylog
from belvedere.auth.models import LoginSession, OneTimeToken, RefreshToken
from belvedere.auth.passwords import Passwords
from belvedere.auth.securitylog import Origin
from belvedere.auth.tokens import AccessTokens, InvalidToken, new_secret
from belvedere.auth.two_factor import TwoFactor, WrongCode, WrongPassword
from belvedere.config import Settings
from belvedere.platform.db import claim, transaction
from belvedere.platform.errands import Errands
from belvedere.platform.errors import Invalid, TooMany
from belvedere.platform.mail import Mailer
from belvedere.platform.ratelimit import RateLimiter

REFRESH_PREFIX = "br_"
log = structlog.get_logger(__name__)


class AuthFailed(Exception):
    """Credentials or token refused. The message is the same whatever the reason (no enumeration)."""


class Throttled(Exception):
    def __init__(
        self, retry_after: int, message: str = "Too many failed logins; wait before trying again."
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginExpired(AuthFailed):
    """The pending login is gone (too old, forged, or its password was changed since): start again."""


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """The password was right; the account's second factor is still to come. Its token opens no session:
    only ``complete_login`` with a good code turns it into one."""

    token: str
    expires_at: int

    def as_json(self) -> dict[str, Any]:
        return {"second_factor_required": True, "pending_token": self.token, "expires_at": self.expires_at}


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    access_expires_at: int
    refresh_token: str
    refresh_expires_at: int
    family: str

    def as_json(self) -> dict[str, Any]:
        return {
            "token_type": "bearer",
            "access_token": self.access_token,
            "expires_at": self.access_expires_at,
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at,
        }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _org_ids(session: Session, user_id: int) -> list[int]:
    return securitylog.organisations_of_user(session, user_id)


class AuthService:
    def __init__(
        self,
        settings: Settings,
        *,
        passwords: Passwords,
        tokens: AccessTokens,
        limiter: RateLimiter,
        mailer: Mailer,
    ) -> None:
        self.settings = settings
        self.passwords = passwords
        self.tokens = tokens
        self.limiter = limiter
        self.mailer = mailer
        self.two_factor = TwoFactor(settings, passwords=passwords, limiter=limiter)

    # ----------------------------------------------------------------- sign-up and login

    def signup(
        self, session: Session, *, email: str, password: str, name: str, organisation: str, where: Origin
    ) -> tuple[User, Organisation, TokenPair]:
        email = normalise_email(email)
        self.passwords.check_policy(password, email=email)
        user = create_user(session, email=email, password_hash=self.passwords.hash(password), name=name)
        org = create_organisation(
            session,
            name=organisation,
            owner=user,
            plan=self.settings.auth.signup_plan,
            trial_days=self.settings.auth.trial_days,
        )
        securitylog.record(session, [org.id], "signup", actor=user.id, where=where)
        with contextlib.suppress(Throttled):  # an address that was signed up and deleted this hour
            self.send_verification(session, user=user)
        return user, org, self.issue(session, user, family=None, where=where)

    def login(
        self, session: Session, *, email: str, password: str, ip: str | None, where: Origin
    ) -> TokenPair | PendingLogin:
        """Each attempt is counted before the password is checked (one atomic step of the limiter), so
        guesses sent at once cannot all be checked before the first is counted. Per address, every attempt
        counts (``login_ip_attempts``); per account, failures (a success clears them). With two-factor
        authentication on, a right password gives a ``PendingLogin``, not a session."""
        email = normalise_email(email)
        auth = self.settings.auth
        account = f"login:account:{hash_key(email)}"
        budgets = ([(f"login:ip:{where.ip_hash}", auth.login_ip_attempts)] if ip else []) + [
            (account, auth.login_attempts)
        ]
        for key, limit in budgets:
            verdict = self.limiter.hit(key, limit, auth.login_window_minutes, exact=True)
            if not verdict.allowed:
                user = find_user(session, email=email)
                if user is not None:
                    securitylog.record(
                        session, _org_ids(session, user.id), "login_throttled", actor=user.id, where=where
                    )
                raise Throttled(verdict.reset_seconds)
        user = find_user(session, email=email)
        if not self.passwords.verify(user.password_hash if user else None, password) or user is None:
            if user is not None:
                securitylog.record(
                    session, _org_ids(session, user.id), "login_failed", actor=user.id, where=where
                )
            raise AuthFailed("Wrong email or password.")
        self.limiter.clear(account, auth.login_attempts, auth.login_window_minutes)
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.passwords.hash(password)
        if self.two_factor.enabled(session, user_id=user.id):
            token, expires = self.tokens.issue_pending(
                user_id=user.id,
                token_version=user.token_version,
                lifetime_seconds=auth.pending_login_minutes * 60,
            )
            return PendingLogin(token, expires)
        securitylog.record(session, _org_ids(session, user.id), "login", actor=user.id, where=where)
        return self.issue(session, user, family=None, where=where)

    def complete_login(self, session: Session, *, pending_token: str, code: str, where: Origin) -> TokenPair:
        """The second step: a pending login and a code from the authenticator (or a recovery code) open the
        session. Wrong codes are logged and throttled per account (``auth.code_attempts``)."""
        try:
            claims = self.tokens.verify_pending(pending_token)
        except InvalidToken:
            raise LoginExpired("This sign-in expired: log in again with your password.") from None
        user = session.get(User, claims.user_id)
        if user is None or user.token_version != claims.token_version:
            raise LoginExpired("This sign-in expired: log in again with your password.")
        try:
            kind = self.two_factor.check_code(session, user=user, code=code, where=where)
        except TooMany as exc:
            securitylog.record(
                session, _org_ids(session, user.id), "login_throttled", actor=user.id, where=where
            )
            retry = int((exc.headers or {}).get("Retry-After", "60"))
            raise Throttled(retry, exc.message) from None
        except WrongCode as exc:
            securitylog.record(
                session, _org_ids(session, user.id), "login_code_failed", actor=user.id, where=where
            )
            raise AuthFailed(exc.message) from None
        securitylog.record(
            session, _org_ids(session, user.id), "login", actor=user.id, where=where, second_factor=kind
        )
        return self.issue(session, user, family=None, where=where)

    def user_for_access_token(self, session: Session, token: str) -> User:
        """The token's user, if the token is genuine, unexpired, and its login session is still open: an
        access token dies with its refresh family (logout, reuse detected, password change)."""
        claims = self.tokens.verify(token)
        user = session.get(User, claims.user_id)
        if user is None or user.token_version != claims.token_version:
            raise InvalidToken("the token was issued before a password change, or its user is gone")
        live = session.execute(
            select(RefreshToken.id, LoginSession.last_seen_at)
            .outerjoin(LoginSession, LoginSession.family == RefreshToken.family)
            .where(
                RefreshToken.family == claims.family,
                RefreshToken.user_id == user.id,
                RefreshToken.revoked_at.is_(None),
            )
            .limit(1)
        ).first()
        if live is None:
            raise InvalidToken("the token's session was logged out or revoked")
        login_sessions.seen(session, family=claims.family, last_seen_at=live.last_seen_at)
        return user

    # ----------------------------------------------------------------- refresh tokens

    def issue(
        self, session: Session, user: User, *, family: str | None = None, where: Origin | None = None
    ) -> TokenPair:
        """A token pair in ``family`` (a new login session when None, from the device ``where`` names)."""
        expires = datetime.now(UTC) + timedelta(days=self.settings.auth.refresh_token_days)
        if family is None:
            family = secrets.token_hex(16)
            login_sessions.open_session(
                session,
                user_id=user.id,
                family=family,
                user_agent=where.user_agent if where else None,
                expires_at=expires,
            )
        else:
            login_sessions.extend(session, family=family, expires_at=expires)
        access, access_expires = self.tokens.issue(
            user_id=user.id, token_version=user.token_version, family=family
        )
        refresh = new_secret(REFRESH_PREFIX)
        session.add(
            RefreshToken(
                user_id=user.id,
                family=family,
                token_hash=hash_key(refresh),
                expires_at=expires,
            )
        )
        session.flush()
        return TokenPair(access, access_expires, refresh, int(expires.timestamp()), family)

    def refresh(self, session: Session, *, refresh_token: str, where: Origin) -> TokenPair:
        """Rotate: the presented token is spent and a new one of the same family returned. A spent token
        presented again means it was copied — the whole family is revoked and both holders must log in."""
        row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_key(refresh_token)))
        now = datetime.now(UTC)
        if row is None or row.revoked_at is not None or _aware(row.expires_at) <= now:
            raise AuthFailed("The refresh token is not valid; log in again.")
        if row.used_at is not None or not claim(
            session, RefreshToken.used_at, RefreshToken.id == row.id, value=now
        ):  # spent already, or by a request running at this moment
            self._revoke_family(session, row.family, now)
            securitylog.record(
                session,
                _org_ids(session, row.user_id),
                "refresh_reuse",
                actor=row.user_id,
                where=where,
                family=row.family,
            )
            raise AuthFailed("The refresh token is not valid; log in again.")
        user = session.get(User, row.user_id)
        assert user is not None
        return self.issue(session, user, family=row.family)

    def logout(self, session: Session, *, refresh_token: str, where: Origin) -> None:
        row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_key(refresh_token)))
        if row is None:
            return
        self._revoke_family(session, row.family, datetime.now(UTC))
        securitylog.record(session, _org_ids(session, row.user_id), "logout", actor=row.user_id, where=where)

    @staticmethod
    def _revoke_family(session: Session, family: str, now: datetime) -> None:
        login_sessions.end_families(session, [family], now)

    def _log_everyone_out(self, session: Session, user: User) -> None:
        user.token_version += 1
        login_sessions.end_all(session, user_id=user.id, now=datetime.now(UTC))

    # ----------------------------------------------------------------- passwords

    def change_password(
        self, session: Session, *, user: User, current: str, new: str, where: Origin
    ) -> TokenPair:
        """Every session is logged out; the caller gets a new one (the pair returned), so only they stay.
        Wrong current passwords are throttled like logins (``TooMany``)."""
        try:
            self.two_factor.check_password(user=user, password=current)
        except WrongPassword:
            raise AuthFailed("The current password is wrong.") from None
        self.passwords.check_policy(new, email=user.email)
        user.password_hash = self.passwords.hash(new)
        self._log_everyone_out(session, user)
        securitylog.record(
            session, _org_ids(session, user.id), "password_changed", actor=user.id, where=where
        )
        return self.issue(session, user, family=None, where=where)

    def _may_email(self, user: User) -> bool:
        """Whether the account's hourly budget of reset and verification emails allows one more."""
        limit = self.settings.auth.account_emails_per_hour
        allowed = self.limiter.hit(f"mail:account:{hash_key(user.email)}", limit, 60).allowed
        if not allowed:
            log.info("mail.account_throttled", user_id=user.id)
        return allowed

    def request_reset(self, session: Session, *, email: str) -> None:
        """Send a reset link if the account exists and its hourly email budget allows; the caller answers
        the same either way."""
        user = find_user(session, email=email)
        if user is None or not self._may_email(user):
            return
        token = self._one_time(
            session, user, "reset", timedelta(minutes=self.settings.auth.reset_token_minutes)
        )
        link = f"{self.settings.base_url}/reset-password?token={token}"
        self.mailer.send(
            session,
            to=user.email,
            subject="Reset your Belvedere password",
            body=f"Someone asked to reset the password of {user.email}.\n\n"
            f"To choose a new one, open:\n{link}\n\n"
            f"The link works once, for {self.settings.auth.reset_token_minutes} minutes. "
            "If you did not ask, ignore this email.",
        )

    def reset_password(self, session: Session, *, token: str, new: str, where: Origin) -> None:
        row = self._spend(session, token, "reset")
        user = session.get(User, row.user_id)
        assert user is not None
        self.passwords.check_policy(new, email=user.email)
        user.password_hash = self.passwords.hash(new)
        self._log_everyone_out(session, user)
        securitylog.record(session, _org_ids(session, user.id), "password_reset", actor=user.id, where=where)

    # ----------------------------------------------------------------- email verification

    def send_verification(self, session: Session, *, user: User) -> None:
        """Email a verification link, within the account's hourly email budget (else ``Throttled``)."""
        if not self._may_email(user):
            raise Throttled(3600, "Enough emails went to this account in the last hour; try again later.")
        token = self._one_time(
            session, user, "verify", timedelta(hours=self.settings.auth.verify_token_hours)
        )
        self.mailer.send(
            session,
            to=user.email,
            subject="Confirm your email for Belvedere",
            body=f"Confirm that {user.email} is yours by opening:\n"
            f"{self.settings.base_url}/verify-email?token={token}\n",
        )

    def verify_email(self, session: Session, *, token: str, where: Origin) -> User:
        """Confirm the account's address, or, for the link of an email change, move the account to the new
        address (which the link proved is theirs) and tell the old one."""
        row = self._spend(session, token, "verify", "email")
        user = session.get(User, row.user_id)
        assert user is not None
        if row.purpose == "email" and row.new_email:
            self._move_email(session, user, row.new_email, where)
        user.email_verified_at = user.email_verified_at or datetime.now(UTC)
        securitylog.record(session, _org_ids(session, user.id), "email_verified", actor=user.id, where=where)
        return user

    # ----------------------------------------------------------------- email change

    def request_email_change(
        self, session: Session, *, user: User, password: str, new_email: str, where: Origin
    ) -> str:
        """Email a confirmation link to the new address (the current password first). The account keeps its
        address until the link is opened; then the old address is told."""
        self.two_factor.check_password(user=user, password=password)
        new_email = normalise_email(new_email)
        if not re.fullmatch(EMAIL_PATTERN, new_email) or len(new_email) > 320:
            raise Invalid("Type a whole email address, such as ada@example.com.")
        if new_email == user.email:
            raise Invalid("This is the address the account has already.")
        if find_user(session, email=new_email) is not None:
            raise Conflict("Another account uses this address: choose another, or sign in to that account.")
        if not self._may_email(user):
            raise TooMany(
                "Enough emails went to this account in the last hour; try again later.",
                headers={"Retry-After": "3600"},
            )
        hours = self.settings.auth.verify_token_hours
        # Only the newest request stands: the links of earlier ones stop working.
        session.execute(
            update(OneTimeToken)
            .where(
                OneTimeToken.user_id == user.id,
                OneTimeToken.purpose == "email",
                OneTimeToken.used_at.is_(None),
            )
            .values(used_at=datetime.now(UTC))
        )
        token = self._one_time(session, user, "email", timedelta(hours=hours), new_email=new_email)
        self.mailer.send(
            session,
            to=new_email,
            subject="Confirm your new email for Belvedere",
            body=f"Someone signed in as {user.email} asked to use {new_email} for their Belvedere account "
            f"from now on.\n\nTo confirm that this address is yours, open:\n"
            f"{self.settings.base_url}/verify-email?token={token}\n\n"
            f"The link works once, for {hours} hours. If you did not ask, ignore this email: nothing "
            "changes.",
        )
        securitylog.record(
            session, _org_ids(session, user.id), "email_change_requested", actor=user.id, where=where
        )
        return new_email

    def pending_email(self, session: Session, *, user: User) -> str | None:
        """The address of the newest email change still waiting for its link to be opened."""
        return session.scalar(
            select(OneTimeToken.new_email)
            .where(
                OneTimeToken.user_id == user.id,
                OneTimeToken.purpose == "email",
                OneTimeToken.used_at.is_(None),
                OneTimeToken.expires_at > datetime.now(UTC),
            )
            .order_by(OneTimeToken.id.desc())
            .limit(1)
        )

    def _move_email(self, session: Session, user: User, new_email: str, where: Origin) -> None:
        if find_user(session, email=new_email) is not None:
            raise Conflict("Another account took this address meanwhile: choose another on the account page.")
        old = user.email
        user.email, user.email_verified_at = new_email, datetime.now(UTC)
        self.mailer.send(
            session,
            to=old,
            subject="Your Belvedere email was changed",
            body=f"The Belvedere account that used {old} now uses {new_email}: this address no longer signs "
            "in, and account emails go to the new one.\n\nIf you did not make this change, reset your "
            f"password from {self.settings.base_url}/forgot-password with the new address, or ask an owner "
            "of your organisation for help.",
        )
        securitylog.record(
            session,
            _org_ids(session, user.id),
            "email_changed",
            actor=user.id,
            where=where,
            old=old,
            new=new_email,
        )

    def _one_time(
        self, session: Session, user: User, purpose: str, lifetime: timedelta, new_email: str | None = None
    ) -> str:
        token = new_secret("bt_")
        session.add(
            OneTimeToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=hash_key(token),
                expires_at=datetime.now(UTC) + lifetime,
                new_email=new_email,
            )
        )
        session.flush()
        return token

    @staticmethod
    def _spend(session: Session, token: str, *purposes: str) -> OneTimeToken:
        row = session.scalar(select(OneTimeToken).where(OneTimeToken.token_hash == hash_key(token)))
        now = datetime.now(UTC)
        if (
            row is None
            or row.purpose not in purposes
            or _aware(row.expires_at) <= now
            or not claim(session, OneTimeToken.used_at, OneTimeToken.id == row.id, value=now)
        ):
            raise AuthFailed("This link is not valid: it expired or was already used. Ask for a new one.")
        return row


RESET_REQUESTED = "If an account uses this email, a reset link is on its way."


def reset_link_later(
    errands: Errands, sessions: sessionmaker[Session], auth: AuthService, email: str
) -> None:
    """Hand a reset request to the errand thread and return at once: the lookup, the link and the mail
    happen after the answer, so that the answer and its timing are the same whether or not the email has an
    account."""

    def send() -> None:
        with transaction(sessions) as session:
            auth.request_reset(session, email=email)

    errands.run("password_reset", send)
