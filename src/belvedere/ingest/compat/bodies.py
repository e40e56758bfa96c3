"""Request bodies as other products' trackers send them, back to the JSON document they carry.

A body may be declared compressed (``Content-Encoding: gzip``, or a ``compression`` parameter of the query
or the form: ``gzip``, ``gzip-js``, ``base64``, ``lz64``), or not declared at all — PostHog's browser tracker
sends raw gzip as ``text/plain``, so gzip is also recognised by its first two bytes. A form body
(``application/x-www-form-urlencoded``) carries the document in its ``data`` field, base64 or lz64. Every
step is size-capped: a body that inflates past the limit is refused, not read."""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any
from urllib.parse import parse_qs

import orjson

from belvedere.ingest.compat.lzstring import TooLong, decompress_from_base64
from belvedere.platform.errors import BelvedereError

GZIP_MAGIC = b"\x1f\x8b"
COMPRESSIONS = ("gzip", "gzip-js", "base64", "lz64")
MAX_FIELDS = 20


class UnreadableBody(BelvedereError):
    status, code = 400, "unreadable_body"


def gunzip(body: bytes, limit: int) -> bytes:
    """``body`` inflated (gzip or zlib), refused past ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise UnreadableBody("The body is not valid gzip.", code="invalid_gzip") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise BelvedereError(
            f"The body inflates to more than {limit} bytes.", code="payload_too_large", status=413
        )
    return data


def _unbase64(data: bytes) -> bytes:
    try:
        return base64.b64decode(data.strip() + b"=" * (-len(data.strip()) % 4), validate=False)
    except (binascii.Error, ValueError):
        raise UnreadableBody("The body is not valid base64.", code="invalid_base64") from None


def _unlz64(data: bytes, limit: int) -> bytes:
    try:
        text = decompress_from_base64(data.decode("ascii"), max_chars=limit)
    except TooLong:
        raise BelvedereError(
            f"The body inflates to more than {limit} bytes.", code="payload_too_large", status=413
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise UnreadableBody("The body is not valid lz64 (LZ-String, base64).", code="invalid_lz64") from None
    out = text.encode()
    if len(out) > limit:
        raise BelvedereError(
            f"The body inflates to more than {limit} bytes.", code="payload_too_large", status=413
        )
    return out


def _uncompressed(data: bytes, compression: str | None, limit: int) -> bytes:
    if compression in ("gzip", "gzip-js") or data[:2] == GZIP_MAGIC:
        return gunzip(data, limit)
    if compression == "lz64":
        return _unlz64(data, limit)
    if compression == "base64":
        return _unbase64(data)
    return data


def decode(
    body: bytes, *, content_type: str, content_encoding: str, compression: str | None, limit: int
) -> Any:
    """The JSON document ``body`` carries (``UnreadableBody`` when it carries none)."""
    encoding = content_encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        body = gunzip(body, limit)
    elif encoding not in ("", "identity"):
        raise BelvedereError(
            "Content-Encoding must be gzip or absent.", code="unsupported_media_type", status=415
        )
    if compression is not None and compression not in COMPRESSIONS:
        raise UnreadableBody(f"Unknown compression {compression!r}: use one of {', '.join(COMPRESSIONS)}.")
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        form = fields(body.decode("latin-1"))
        if "data" not in form:
            raise UnreadableBody("A form body carries its events in `data`.", code="invalid_body")
        declared = form.get("compression")
        compression = compression or (declared[0] if declared else None)
        data = form["data"][0].encode("latin-1")
        body = _uncompressed(data, compression or "base64", limit)
    else:
        body = _uncompressed(body, compression, limit)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    if compression is None:  # undeclared base64, as older trackers send it
        try:
            return orjson.loads(_unbase64(body))
        except (orjson.JSONDecodeError, UnreadableBody):
            pass
    raise UnreadableBody("The body is not JSON, nor gzip, base64 or lz64 JSON.", code="malformed_json")


def fields(text: str) -> dict[str, list[str]]:
    """A query string's or a form's fields (a tracker sends a few: more are refused, not parsed)."""
    try:
        return parse_qs(text, max_num_fields=MAX_FIELDS)
    except ValueError:
        message = f"At most {MAX_FIELDS} fields in a query or a form."
        raise UnreadableBody(message, code="too_many_fields") from None
