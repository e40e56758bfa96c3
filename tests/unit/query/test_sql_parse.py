"""``parse`` keeps each parsed fragment and hands out copies: a caller changing its tree never changes the
next caller's."""

from __future__ import annotations

from belvedere.query.sql import parse_select


def test_each_parse_is_a_fresh_tree() -> None:
    text = "SELECT a FROM events WHERE b = 1"
    first = parse_select(text)
    first = first.where("c = 2").select("d")
    second = parse_select(text)
    assert second.sql() == "SELECT a FROM events WHERE b = 1"
    assert first is not second
    second.set("where", None)
    assert parse_select(text).sql() == "SELECT a FROM events WHERE b = 1"
