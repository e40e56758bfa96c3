"""LZ-String's decompressFromBase64 (PostHog's ``compression=lz64``) against two independent compressors: the
lz-string npm package (a fixed vector with characters beyond the BMP, which JavaScript sends as surrogate
pairs) and the lzstring PyPI package (any text of the BMP, by hypothesis)."""

from __future__ import annotations

import lzstring
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from belvedere.ingest.compat.lzstring import decompress_from_base64

# lz-string 1.5.0 (npm): LZString.compressToBase64(JSON.stringify(...)) of the text below.
NPM_VECTOR = (
    "NobwRApgbhB2AuYBcYAkAHAhgc2gSwgHcwAaMdAJwHt0IL4CBnZceKgazmTHdLQGMArhQpx4AfWEAbbgAt48dIyQB6FQA8AdBHWY"
    "AtuikQV/TADMAlwH4AjgF4AP3wh6qAKzzdAPBuBI/YAEHGAAvkEAukA="
)
NPM_TEXT = (
    '[{"event":"$pageview","properties":{"token":"k","$current_url":"https://x.example/café?q=ü",'
    '"emoji":"🎉 ok"}}]'
)

BMP = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=400)


def test_the_npm_package_s_output_with_an_emoji() -> None:
    assert decompress_from_base64(NPM_VECTOR) == NPM_TEXT


@settings(max_examples=300, deadline=None)
@given(text=BMP)
def test_whatever_the_python_package_compresses(text: str) -> None:
    assert decompress_from_base64(lzstring.LZString().compressToBase64(text)) == text


def test_long_repetitive_text_grows_the_code_width_many_times() -> None:
    text = "".join(f"/page/{i % 97}?ref={i % 13};" for i in range(5000))
    assert decompress_from_base64(lzstring.LZString().compressToBase64(text)) == text


@pytest.mark.parametrize("bad", ["AAAA", "////", "Nobw"])
def test_what_is_not_lz64_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        decompress_from_base64(bad)


def test_a_bomb_stops_at_the_limit_without_building_the_text() -> None:
    """Two million characters from a few kilobytes of codes: refused once past 10,000 (counted as the codes
    are read, so the text is never built)."""
    from belvedere.ingest.compat.lzstring import TooLong

    bomb = lzstring.LZString().compressToBase64("a" * 2_000_000)
    assert len(bomb) < 5_000
    with pytest.raises(TooLong):
        decompress_from_base64(bomb, max_chars=10_000)
    assert len(decompress_from_base64(bomb)) == 2_000_000
