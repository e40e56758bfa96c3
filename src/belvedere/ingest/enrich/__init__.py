"""The enrichment steps, and the standard pipeline the capture path runs them in."""

from __future__ import annotations

from belvedere.config import Settings
from belvedere.ingest.enrich.exclusions import ExclusionStep
from belvedere.ingest.enrich.geo import GeoStep, make_resolver
from belvedere.ingest.enrich.source import SourceStep
from belvedere.ingest.enrich.ua import UserAgentParser, UserAgentStep
from belvedere.ingest.enrich.visitor import VisitorStep, Visits
from belvedere.ingest.pipeline import Pipeline, Step
from belvedere.ingest.salts import SaltRing


def standard_pipeline(settings: Settings, salts: SaltRing, visits: Visits | None) -> tuple[Pipeline, GeoStep]:
    """User agent, geo, source, exclusions, visitor. Without ``visits`` (a capture worker), the visitor step
    leaves its hints in the row for the store owner; the pipeline's geo step is returned for its
    description."""
    ingest = settings.ingest
    geo = GeoStep(make_resolver(settings.geo.database_path))
    steps: list[Step] = [
        UserAgentStep(UserAgentParser(ingest.ua_cache_size), drop_bots=ingest.drop_bots),
        geo,
        SourceStep(),
        ExclusionStep(),
        VisitorStep(
            salts=salts, visits=visits, default_timeout_minutes=ingest.default_session_timeout_minutes
        ),
    ]
    return Pipeline(steps), geo
