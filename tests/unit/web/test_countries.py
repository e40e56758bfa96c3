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


def test_no_country_shape_crosses_the_antimeridian() -> None:
    """A ring whose longitude jumps from 180° to -180° draws a line across the whole map (Russia, Fiji,
    Antarctica did): the shapes are cut there instead (scripts/build_world_map.py)."""
    import json
    from itertools import pairwise
    from pathlib import Path

    import belvedere.web

    shapes = Path(belvedere.web.__file__).parent / "static" / "vendor" / "world-110m.geo.json"
    features = json.loads(shapes.read_text())["features"]
    assert len(features) == 177
    for feature in features:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for ring in (r for polygon in polygons for r in polygon):
            assert all(-180 <= x <= 180 for x, _ in ring), feature["properties"]["name"]
            assert all(abs(a[0] - b[0]) <= 180 for a, b in pairwise(ring)), feature["properties"]["name"]
    assert all(f["properties"]["iso2"] for f in features)  # each shape is shaded by a country code
    names = {f["properties"]["name"] for f in features}
    assert {"Russia", "Fiji", "Antarctica", "France"} <= names
