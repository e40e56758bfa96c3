"""Countries as people read them: the English name of an ISO 3166 alpha-2 code (see
``scripts/build_country_names.py``) and its flag, drawn from the code itself (regional indicator letters)."""

from __future__ import annotations

import json
from pathlib import Path

_NAMES: dict[str, str] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "country_names.json").read_text(encoding="utf-8")
)


def country_name(code: str) -> str:
    """``FR`` → ``France``; a code the table does not know stays as it is."""
    return _NAMES.get(code.upper(), code)


def flag(code: str) -> str:
    """``FR`` → 🇫🇷 (two regional indicator symbols); nothing for what is not a two-letter code."""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code.upper())
