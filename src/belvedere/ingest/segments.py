"""The spool's files, the one place their format is known: a folder of numbered segment files
(``0000000000000042.seg``), each a run of framed records:
``<u32 payload length><u32 crc32(payload)><payload>``.

The owner's spool (``ingest.spool``) appends and reads them back; the relay (``ingest.relay``) reads a capture
worker's from another process. Both read through ``read_records``.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

HEADER = struct.Struct("<II")
SUFFIX = ".seg"


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:016d}{SUFFIX}"


def segment_numbers(directory: Path) -> list[int]:
    """The segments in ``directory``, oldest first (none if it does not exist)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(n[: -len(SUFFIX)]) for n in names if n.endswith(SUFFIX) and n[: -len(SUFFIX)].isdigit())


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def parse(data: bytes, *, verify: bool) -> tuple[list[bytes], int, int | None]:
    """The whole records at the start of ``data``: their payloads, the bytes they take, and the full size of
    a record cut off at the end (None if none is). With ``verify``, parsing stops at a record whose checksum
    fails: one being written, or torn by a crash."""
    payloads: list[bytes] = []
    cursor = 0
    while cursor + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, cursor)
        stop = cursor + HEADER.size + length
        if stop > len(data):
            return payloads, cursor, HEADER.size + length
        payload = data[cursor + HEADER.size : stop]
        if verify and zlib.crc32(payload) != crc:
            break
        payloads.append(payload)
        cursor = stop
    return payloads, cursor, None


def valid_prefix(data: bytes) -> int:
    """How many bytes of a segment's ``data`` are whole records whose checksums hold."""
    return parse(data, verify=True)[1]


def read_records(
    path: Path, offset: int, budget: int, *, verify: bool, limit: int | None = None
) -> tuple[list[bytes], int]:
    """Whole records of the file from ``offset``: about ``budget`` bytes of them (a first record larger
    than the budget is read whole), never past ``offset + limit`` when given; and the bytes they take."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        size = max(budget, HEADER.size) if limit is None else min(limit, max(budget, HEADER.size))
        payloads, used, cut = parse(handle.read(size), verify=verify)
        if not payloads and cut is not None and (limit is None or cut <= limit):
            handle.seek(offset)  # one record larger than the budget: read it whole
            payloads, used, _ = parse(handle.read(cut), verify=verify)
    return payloads, used
