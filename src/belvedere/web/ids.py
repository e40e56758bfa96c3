"""Ids as the API takes them: positive and within what the metadata database stores (a 32-bit key), so
an out-of-range id is a 422 in validation, never an overflow in the database driver."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

MAX_ID = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
