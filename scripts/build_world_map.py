"""Build the shapes of the overview's world map from two npm packages (run by hand; the output is committed).

    npm pack world-atlas@2.0.2 i18n-iso-countries@7.14.0   # then extract both tarballs
    python scripts/build_world_map.py world-atlas/package/countries-110m.json \
        i18n-iso-countries/package/codes.json

world-atlas (ISC) ships Natural Earth's 1:110m countries (public domain) as TopoJSON keyed by ISO 3166
numeric codes; i18n-iso-countries (MIT) maps those codes to the alpha-2 codes Belvedere stores. The output
is GeoJSON with ``{"name", "iso2"}`` per country and coordinates rounded to 0.01° (about 1 km), small enough
to serve as a static file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src/belvedere/web/static/vendor/world-110m.geo.json"
EXTRA = {"Kosovo": "XK"}  # no ISO numeric code, but a code GeoIP databases use


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


def geometry(geom: dict[str, Any], arcs: list[list[tuple[float, float]]]) -> dict[str, Any] | None:
    if geom["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r, arcs) for r in geom["arcs"]]}
    if geom["type"] == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [[ring(r, arcs) for r in p] for p in geom["arcs"]]}
    return None


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
