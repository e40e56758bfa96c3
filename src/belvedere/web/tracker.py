"""The first-party tracker script, served from Belvedere itself so that no third party sees the visits."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

STATIC = Path(__file__).resolve().parent / "static"
SCRIPT = (STATIC / "belvedere.js").read_bytes()

router = APIRouter(include_in_schema=False)


@router.get("/js/belvedere.js")
def tracker_script() -> Response:
    return Response(
        SCRIPT,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )
