"""Build the English country names the pages show for ISO 3166 alpha-2 codes (run by hand; the output is
committed), from the npm package that already gave the world map its codes:

    npm pack i18n-iso-countries@7.14.0   # then extract the tarball
    python scripts/build_country_names.py i18n-iso-countries/package/langs/en.json

i18n-iso-countries (MIT) lists several names for some countries; the first without a comma is kept
("Taiwan", not "Taiwan, Province of China"), and a few formal names give way to the usual one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

USUAL = {
    "US": "United States",
    "RU": "Russia",
    "MK": "North Macedonia",
    "CI": "Côte d'Ivoire",
    "VA": "Vatican City",
    "FM": "Micronesia",
    "GB": "United Kingdom",
    "CN": "China",
    "GM": "Gambia",
    "IR": "Iran",
    "LA": "Laos",
    "MD": "Moldova",
    "PS": "Palestine",
    "SY": "Syria",
    "TZ": "Tanzania",
    "CZ": "Czechia",
}
OUT = Path(__file__).resolve().parents[1] / "src/belvedere/web/data/country_names.json"


def common_name(code: str, names: str | list[str]) -> str:
    if code in USUAL:
        return USUAL[code]
    if isinstance(names, str):
        return names
    return next((n for n in names if "," not in n), names[0])


def main(source: str) -> None:
    countries = json.loads(Path(source).read_text(encoding="utf-8"))["countries"]
    names = {code: common_name(code, value) for code, value in sorted(countries.items())}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(names, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(names)} names written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
