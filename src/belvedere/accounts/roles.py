"""Roles within an organisation, ordered, and how a personal key's scopes cap its owner's role."""

from __future__ import annotations

from typing import Literal

Role = Literal["viewer", "member", "admin", "owner"]
ROLES: tuple[Role, ...] = ("viewer", "member", "admin", "owner")
SCOPES = ("read", "write", "admin")
# A personal key never acts above its owner's role, nor above what its scopes grant.
SCOPE_ROLE: dict[str, Role] = {"read": "viewer", "write": "member", "admin": "admin"}


def rank(role: str) -> int:
    return ROLES.index(role)


def at_least(role: str, required: str) -> bool:
    return rank(role) >= rank(required)


def capped(role: Role, scopes: list[str]) -> Role:
    """The role a personal key acts with: its owner's role, capped by the highest scope it holds."""
    cap = max((rank(SCOPE_ROLE[s]) for s in scopes if s in SCOPE_ROLE), default=-1)
    if cap < 0:
        raise ValueError("a key needs at least one scope")
    return ROLES[min(rank(role), cap)]
