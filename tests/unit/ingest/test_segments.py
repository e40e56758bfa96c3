"""The spool's file format, read the one way the owner's spool and the relay both use."""

from __future__ import annotations

from pathlib import Path

from belvedere.ingest.segments import frame, parse, read_records, segment_numbers, segment_path, valid_prefix


def test_whole_records_only_and_checksums_when_asked(tmp_path: Path) -> None:
    records = [b"a" * 10, b"b" * 3000, b"c" * 5]
    data = b"".join(frame(r) for r in records)
    torn = data + frame(b"d" * 50)[:20]
    assert parse(torn, verify=True)[:2] == (records, len(data))
    assert parse(torn, verify=False)[2] == 8 + 50  # the size of the record cut off
    assert valid_prefix(torn) == len(data)
    corrupt = bytearray(data)
    corrupt[len(frame(records[0])) + 10] ^= 0xFF  # a flipped bit in the second payload
    assert parse(bytes(corrupt), verify=True)[0] == records[:1]
    assert len(parse(bytes(corrupt), verify=False)[0]) == 3

    segment = segment_path(tmp_path, 7)
    segment.write_bytes(torn)
    assert segment_numbers(tmp_path) == [7] and segment_numbers(tmp_path / "none") == []
    # A budget smaller than the first record still reads that record whole, and no more.
    assert read_records(segment, 0, 4, verify=True) == ([records[0]], len(frame(records[0])))
    second = len(frame(records[0]))
    assert read_records(segment, second, 100, verify=True) == ([records[1]], len(frame(records[1])))
    # Never past a limit (the spool's committed end), even for a record larger than the budget.
    assert read_records(segment, second, 100, verify=False, limit=200) == ([], 0)
    assert read_records(segment, 0, 1 << 20, verify=True) == (records, len(data))
