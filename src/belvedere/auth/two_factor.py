"""Two-factor authentication use cases: enrol a TOTP authenticator (secret and QR code shown until a code
confirms it), recovery codes (shown once), turn it off, and check a code (at login, on the account page).

Every code check counts against the account's budget (``auth.code_attempts`` per ``login_window_minutes``)
before the code is looked at, and a TOTP code is accepted once: its time step must be newer than the last
accepted one, set by one conditional ``UPDATE`` so that two requests racing with the same code cannot both
pass. Methods take the caller's session and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from belvedere.accounts.models import User
from belvedere.auth import securitylog
from belvedere.auth.models import RecoveryCode, SecondFactor
from belvedere.auth.passwords import Passwords
from belvedere.auth.second_factor import (
    TOTP_PURPOSE,
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    normalise_recovery_code,
    provisioning_uri,
    qr_svg,
    recovery_code_hash,
)
from belvedere.auth.securitylog import Origin
from belvedere.config import Settings
from belvedere.platform.db import claim
from belvedere.platform.errors import BelvedereError, Conflict, TooMany
from belvedere.platform.ratelimit import RateLimiter
from belvedere.platform.secretbox import SecretBox


class WrongCode(BelvedereError):
    status, code = 403, "wrong_code"


class WrongPassword(BelvedereError):
    status, code = 403, "wrong_password"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What a person needs to add the account to an authenticator app: shown until a code confirms it."""

    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True, slots=True)
class TwoFactorState:
    enabled: bool
    enrolment: Enrolment | None  # an enrolment waiting for its first code
    recovery_codes_left: int


def _throttled(retry_after: int, what: str) -> TooMany:
    minutes = max(retry_after // 60, 1)
    return TooMany(
        f"Too many wrong {what}: wait {minutes} minute{'s' if minutes > 1 else ''} and try again.",
        headers={"Retry-After": str(max(retry_after, 1))},
    )


class TwoFactor:
    def __init__(self, settings: Settings, *, passwords: Passwords, limiter: RateLimiter) -> None:
        self.settings = settings
        self.box = SecretBox(settings.secret_key, TOTP_PURPOSE)
        self.passwords = passwords
        self.limiter = limiter

    # ----------------------------------------------------------------- state

    @staticmethod
    def enabled(session: Session, *, user_id: int) -> bool:
        confirmed = session.scalar(select(SecondFactor.confirmed_at).where(SecondFactor.user_id == user_id))
        return confirmed is not None

    def state(self, session: Session, *, user: User) -> TwoFactorState:
        factor = session.get(SecondFactor, user.id)
        left = session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        enrolment = None
        if factor is not None and factor.confirmed_at is None:
            secret = self.box.open(factor.secret)
            enrolment = self._enrolment(secret, user.email) if secret else None
        confirmed = factor is not None and factor.confirmed_at is not None
        return TwoFactorState(confirmed, enrolment, int(left or 0))

    @staticmethod
    def _enrolment(secret: str, email: str) -> Enrolment:
        uri = provisioning_uri(secret, email)
        return Enrolment(secret=secret, uri=uri, qr_svg=qr_svg(uri))

    # ----------------------------------------------------------------- checks

    def check_password(self, *, user: User, password: str) -> None:
        """The signed-in person proves they know the password before a sensitive change; guesses are
        throttled like logins, so a session left open is no oracle for it."""
        auth = self.settings.auth
        key = f"reauth:user:{user.id}"
        verdict = self.limiter.hit(key, auth.login_attempts, auth.login_window_minutes, exact=True)
        if not verdict.allowed:
            raise _throttled(verdict.reset_seconds, "passwords")
        if not self.passwords.verify(user.password_hash, password):
            raise WrongPassword("The current password is wrong: type the one you log in with.")
        self.limiter.clear(key, auth.login_attempts, auth.login_window_minutes)

    def check_code(self, session: Session, *, user: User, code: str, where: Origin) -> str:
        """Accept a code from the authenticator, or an unused recovery code (then spent): which it was
        (``totp`` or ``recovery``). Raises ``WrongCode`` or ``TooMany``."""
        self._count_code_attempt(user)
        factor = session.get(SecondFactor, user.id)
        if factor is None or factor.confirmed_at is None:
            raise WrongCode("Two-factor authentication is not on for this account.")
        kind = self._spend_totp(session, factor, code) or self._spend_recovery(session, user, code, where)
        if kind is None:
            raise WrongCode(
                "That code is not right, or was used already: type the current 6-digit code from your "
                "authenticator app, or one of your recovery codes."
            )
        self._clear_code_attempts(user)
        return kind

    def _count_code_attempt(self, user: User) -> None:
        """Counted before the code is looked at (one atomic step of the limiter): codes sent at once
        cannot all be tried before the first is counted."""
        auth = self.settings.auth
        verdict = self.limiter.hit(
            f"code:user:{user.id}", auth.code_attempts, auth.login_window_minutes, exact=True
        )
        if not verdict.allowed:
            raise _throttled(verdict.reset_seconds, "codes")

    def _clear_code_attempts(self, user: User) -> None:
        auth = self.settings.auth
        self.limiter.clear(f"code:user:{user.id}", auth.code_attempts, auth.login_window_minutes)

    def _spend_totp(self, session: Session, factor: SecondFactor, code: str) -> str | None:
        secret = self.box.open(factor.secret)
        step = matching_step(secret, code) if secret else None
        if step is None:
            return None
        newer = or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step)
        taken = session.execute(
            update(SecondFactor)
            .where(SecondFactor.user_id == factor.user_id, newer)
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        )
        return "totp" if taken.rowcount == 1 else None  # type: ignore[attr-defined]

    @staticmethod
    def _spend_recovery(session: Session, user: User, code: str, where: Origin) -> str | None:
        plain = normalise_recovery_code(code)
        if plain is None:
            return None
        row = session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.code_hash == recovery_code_hash(plain)
            )
        )
        now = datetime.now(UTC)
        if row is None or not claim(session, RecoveryCode.used_at, RecoveryCode.id == row.id, value=now):
            return None
        left = session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        _log(session, user, "recovery_code_used", where, left=left)
        return "recovery"

    # ----------------------------------------------------------------- enrolment

    def begin(self, session: Session, *, user: User, password: str) -> Enrolment:
        """A new secret, waiting for its first code (a pending one is replaced)."""
        self.check_password(user=user, password=password)
        factor = session.get(SecondFactor, user.id)
        if factor is not None and factor.confirmed_at is not None:
            raise Conflict("Two-factor authentication is on already; turn it off first to move it.")
        secret = new_totp_secret()
        if factor is None:
            session.add(SecondFactor(user_id=user.id, secret=self.box.seal(secret)))
        else:
            factor.secret, factor.last_step = self.box.seal(secret), None
        session.flush()
        return self._enrolment(secret, user.email)

    def confirm(self, session: Session, *, user: User, code: str, where: Origin) -> list[str]:
        """The first code from the app turns two-factor authentication on; the recovery codes are returned
        (to be shown once: only their hashes are kept)."""
        self._count_code_attempt(user)
        factor = session.get(SecondFactor, user.id)
        if factor is None or factor.confirmed_at is not None:
            raise Conflict('There is no enrolment waiting for a code: start again with "Set up".')
        secret = self.box.open(factor.secret)
        step = matching_step(secret, code) if secret else None
        if step is None:
            raise WrongCode(
                "That code is not right: check the app shows Belvedere with your email, and type its "
                "current 6-digit code."
            )
        self._clear_code_attempts(user)
        factor.confirmed_at, factor.last_step = datetime.now(UTC), step
        codes = self._replace_codes(session, user)
        _log(session, user, "two_factor_enabled", where)
        return codes

    def regenerate(self, session: Session, *, user: User, code: str, where: Origin) -> list[str]:
        """New recovery codes for a code from the app (or a recovery code): the old ones stop working."""
        self.check_code(session, user=user, code=code, where=where)
        codes = self._replace_codes(session, user)
        _log(session, user, "recovery_codes_regenerated", where)
        return codes

    def disable(self, session: Session, *, user: User, password: str, code: str, where: Origin) -> None:
        self.check_password(user=user, password=password)
        self.check_code(session, user=user, code=code, where=where)
        session.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id))
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        _log(session, user, "two_factor_disabled", where)

    @staticmethod
    def _replace_codes(session: Session, user: User) -> list[str]:
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        codes = new_recovery_codes()
        for code in codes:
            plain = normalise_recovery_code(code)
            assert plain is not None
            session.add(RecoveryCode(user_id=user.id, code_hash=recovery_code_hash(plain)))
        session.flush()
        return codes


def _log(session: Session, user: User, kind: str, where: Origin, **detail: object) -> None:
    """A line in the log of each of the user's organisations."""
    orgs = securitylog.organisations_of_user(session, user.id)
    securitylog.record(session, orgs, kind, actor=user.id, where=where, **detail)
