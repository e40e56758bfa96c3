"""The web session's cookies: opened at login (access token, CSRF token, refresh token), closed at logout.
Shared by the JSON API's login and refresh and the login pages."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from belvedere.auth.service import TokenPair
from belvedere.web.access import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    REFRESH_COOKIE,
    REFRESH_COOKIE_PATH,
    csrf_token,
)


def open_session(response: Response, runtime: Any, pair: TokenPair) -> dict[str, Any]:
    secure = runtime.settings.auth.cookie_secure
    csrf = csrf_token(runtime.settings.secret_key, pair.family)
    max_age = runtime.settings.auth.refresh_token_days * 86400
    response.set_cookie(
        ACCESS_COOKIE, pair.access_token, max_age=max_age, httponly=True, secure=secure, samesite="lax"
    )
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure, samesite="strict")
    # Never sent from another site's pages (SameSite=Strict), never readable by scripts.
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=max_age,
        path=REFRESH_COOKIE_PATH,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    return {"csrf_token": csrf}


def close_session(response: Response) -> None:
    response.delete_cookie(ACCESS_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH)
