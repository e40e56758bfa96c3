"""Countries are shown by name with their flag, never as a bare ISO code (issue #27)."""

from __future__ import annotations

from belvedere.web.pages.countries import country_name, flag


def test_codes_read_as_the_names_people_use() -> None:
    assert [country_name(c) for c in ("FR", "us", "GB", "KR", "TW", "CD", "CG", "XK")] == [
        "France",
        "United States",
        "United Kingdom",
        "South Korea",
        "Taiwan",
        "Democratic Republic of the Congo",
        "Republic of the Congo",
        "Kosovo",
    ]
    assert country_name("ZZ") == "ZZ"  # unknown: the code itself, never an error


def test_a_flag_is_the_codes_two_regional_indicator_letters() -> None:
    assert flag("FR") == "\U0001f1eb\U0001f1f7" and flag("us") == "\U0001f1fa\U0001f1f8"
    assert flag("") == flag("FRA") == flag("1A") == flag("\u00c9T") == ""
