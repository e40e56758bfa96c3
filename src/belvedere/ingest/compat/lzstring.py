"""LZ-String's ``decompressFromBase64`` — the ``compression=lz64`` of PostHog's browser tracker.

LZ-String (a public-domain LZW variant for JavaScript strings) writes a stream of variable-width codes, here
six bits to a base64 character, most significant bit first. Code 0 brings a new 8-bit character, 1 a 16-bit
one, 2 ends the stream; any other code names a dictionary entry, and every entry read adds the previous one
plus its first character. The width grows by one bit each time the dictionary fills its current width.
JavaScript strings are UTF-16, so the 16-bit characters may be surrogate halves: they are paired at the end.
"""

from __future__ import annotations

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}


class _Bits:
    """The codes' bits, six to a character, the first bit the most significant."""

    def __init__(self, text: str) -> None:
        self.values = [_VALUE[c] for c in text if c in _VALUE]  # line breaks and the like are skipped
        self.index = 0
        self.mask = 32

    def read(self, count: int) -> int:
        """The next ``count`` bits, the first of them the least significant of the number."""
        number = 0
        for power in range(count):
            if self.index >= len(self.values):
                raise ValueError("the lz64 data ends in the middle of a code")
            if self.values[self.index] & self.mask:
                number |= 1 << power
            self.mask >>= 1
            if self.mask == 0:
                self.mask, self.index = 32, self.index + 1
        return number


class TooLong(ValueError):
    """The text would be longer than allowed."""


def decompress_from_base64(text: str, max_chars: int | None = None) -> str:
    """The string ``compressToBase64`` made ``text`` from (ValueError when ``text`` is not such data;
    ``TooLong`` as soon as it passes ``max_chars`` characters — each code can name an entry one character
    longer than the last, so a few kilobytes of codes can stand for gigabytes of text)."""
    if not text:
        return ""
    bits = _Bits(text)
    entries: list[str] = ["", "", ""]  # codes 0, 1 and 2 are instructions, not entries
    width, room = 3, 4  # the code width, and how many entries still fit in it
    first = bits.read(2)
    if first == 2:
        return ""
    if first not in (0, 1):
        raise ValueError("the lz64 data does not start with a character")
    previous = chr(bits.read(8 if first == 0 else 16))
    entries.append(previous)
    out = [previous]
    length = 1
    while True:
        code = bits.read(width)
        if code == 2:
            break
        if code in (0, 1):
            entries.append(chr(bits.read(8 if code == 0 else 16)))
            code = len(entries) - 1
            room -= 1
            if room == 0:
                room, width = 1 << width, width + 1
        if code < len(entries):
            entry = entries[code]
        elif code == len(entries):
            entry = previous + previous[0]
        else:
            raise ValueError("the lz64 data names an entry it has not made")
        length += len(entry)
        if max_chars is not None and length > max_chars:
            raise TooLong(f"the text is longer than {max_chars} characters")
        out.append(entry)
        entries.append(previous + entry[0])
        room -= 1
        previous = entry
        if room == 0:
            room, width = 1 << width, width + 1
    joined = "".join(out)
    return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
