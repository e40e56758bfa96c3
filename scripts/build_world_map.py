"""Build the shapes of the overview's world map from two npm packages (run by hand; the output is committed).

    npm pack world-atlas@2.0.2 i18n-iso-countries@7.14.0   # then extract both tarballs
    python scripts/build_world_map.py world-atlas/package/countries-110m.json \
        i18n-iso-countries/package/codes.json

world-atlas (ISC) ships Natural Earth's 1:110m countries (public domain) as TopoJSON keyed by ISO 3166
numeric codes; i18n-iso-countries (MIT) maps those codes to the alpha-2 codes Belvedere stores. The output
is GeoJSON with ``{"name", "iso2"}`` per country and coordinates rounded to 0.01° (about 1 km), small enough
to serve as a static file. Shapes that cross the antimeridian are cut there into parts on either side.
"""

from __future__ import annotations

import json
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src/belvedere/web/static/vendor/world-110m.geo.json"
# No ISO numeric code: Kosovo has the code GeoIP databases use; the two regions without a code of their own
# are shaded with the country ISO and GeoIP place them in (a shape without a code drew oddly).
EXTRA = {"Kosovo": "XK", "Somaliland": "SO", "N. Cyprus": "CY"}


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """TopoJSON arcs are quantized and delta-encoded: undo both with the topology's transform."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, 2), round(y * sy + ty, 2)))
        arcs.append(points)
    return arcs


def ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """A closed ring from arc indices; ~i (a negative index) is arc i walked backwards. Consecutive arcs
    share their joining point, so each arc after the first drops its first point."""
    points: list[tuple[float, float]] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    return points


Point = tuple[float, float]


def _clip(points: list[Point], keep: Any, cross: Any) -> list[Point]:
    """Sutherland-Hodgman against one half-plane: the part of a closed ring where ``keep(point)``."""
    out: list[Point] = []
    for i, current in enumerate(points):
        previous = points[i - 1]
        if keep(current):
            if not keep(previous):
                out.append(cross(previous, current))
            out.append(current)
        elif keep(previous):
            out.append(cross(previous, current))
    return out


def _at_longitude(x: float) -> Any:
    def cross(a: Point, b: Point) -> Point:
        t = (x - a[0]) / (b[0] - a[0])
        return (x, round(a[1] + t * (b[1] - a[1]), 2))

    return cross


def split_at_antimeridian(points: list[Point]) -> list[list[Point]]:
    """A ring that crosses ±180° (its longitude jumps by more than 180° between two points) as the rings of
    its parts on either side, each within [-180°, 180°]: drawn as it is, the jump is a line across the
    world (Russia's far east, Fiji, Antarctica)."""
    if all(abs(a[0] - b[0]) <= 180 for a, b in pairwise(points)):
        return [points]
    unwrapped = [points[0]]
    for x, y in points[1:]:
        previous = unwrapped[-1][0]
        while x - previous > 180:
            x -= 360
        while previous - x > 180:
            x += 360
        unwrapped.append((x, y))
    parts = []
    for shift in (-360, 0, 360):
        moved = [(x + shift, y) for x, y in unwrapped]
        part = _clip(moved, lambda p: p[0] <= 180, _at_longitude(180))
        part = _clip(part, lambda p: p[0] >= -180, _at_longitude(-180))
        if len(part) >= 3 and max(x for x, _ in part) - min(x for x, _ in part) > 0:
            parts.append([(round(x, 2), y) for x, y in part])
    return parts


def polygons(rings: list[list[Point]]) -> list[list[list[Point]]]:
    """A polygon (outer ring, then holes) as one or more polygons that do not cross the antimeridian; a
    split polygon drops its holes (none of the 1:110m countries that cross has one)."""
    outer = split_at_antimeridian(rings[0])
    if len(outer) == 1:
        return [[outer[0], *rings[1:]]]
    return [[part] for part in outer]


def geometry(geom: dict[str, Any], arcs: list[list[tuple[float, float]]]) -> dict[str, Any] | None:
    if geom["type"] == "Polygon":
        parts = polygons([ring(r, arcs) for r in geom["arcs"]])
    elif geom["type"] == "MultiPolygon":
        parts = [piece for p in geom["arcs"] for piece in polygons([ring(r, arcs) for r in p])]
    else:
        return None
    if len(parts) == 1:
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def main(topo_path: str, codes_path: str) -> None:
    topology = json.loads(Path(topo_path).read_text())
    iso2_of = {numeric: alpha2 for alpha2, _, numeric, *_ in json.loads(Path(codes_path).read_text())}
    arcs = decode_arcs(topology)
    features = []
    for geom in topology["objects"]["countries"]["geometries"]:
        shape = geometry(geom, arcs)
        if shape is None:
            continue
        name = geom.get("properties", {}).get("name", "")
        iso2 = iso2_of.get(str(geom.get("id", ""))) or EXTRA.get(name)
        features.append({"type": "Feature", "properties": {"name": name, "iso2": iso2}, "geometry": shape})
    OUT.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")))
    print(f"{len(features)} countries, {sum(f['properties']['iso2'] is None for f in features)} without code")


if __name__ == "__main__":
    main(*sys.argv[1:3])
