"""The SQL that keeps DuckDB's `visits` table: one row per visit, written by the writer with each batch
(``VISITS_OF`` groups a set of events into visit rows; ``UPSERT_VISITS`` merges the batch's into the stored).
"""

from __future__ import annotations

from belvedere.store.schema import VISIT_FIRSTS

_PAGEVIEW = "event = '$pageview' AND path IS NOT NULL"


def _after(first: str) -> str:
    """Milliseconds from the visit's start to ``first`` (an aggregate time): mostly 0, which a BIGINT
    column stores in almost no space where a second timestamp would take eight bytes a visit."""
    return f"epoch_ms({first}) - epoch_ms(min(timestamp))"


_FIRSTS_OF = "".join(
    f" arg_min({source}, timestamp), {_after(f'min(timestamp) FILTER (WHERE {source} IS NOT NULL)')},"
    for _, source in VISIT_FIRSTS
)
# The visits of a set of events, as rows of the `visits` table of store version 3 (the writer's text adds
# what later versions added). `pages` lists the distinct paths of its page views (a page view without one
# is counted in `pathless_pageviews` instead), `event_names` its events.
_VISITS_OF_V3 = (
    "SELECT project_id, session_id, min(timestamp), max(timestamp), count(*),"
    f" count(*) FILTER (WHERE event = '$pageview'),{_FIRSTS_OF}"
    f" arg_min(path, timestamp) FILTER (WHERE {_PAGEVIEW}),"
    f" {_after(f'min(timestamp) FILTER (WHERE {_PAGEVIEW})')},"
    f" arg_max(path, timestamp) FILTER (WHERE {_PAGEVIEW}),"
    f" {_after(f'max(timestamp) FILTER (WHERE {_PAGEVIEW})')},"
    f" list(DISTINCT path) FILTER (WHERE {_PAGEVIEW}),"
    " count(*) FILTER (WHERE event = '$pageview' AND path IS NULL), list(DISTINCT event)"
    " FROM {source} WHERE session_id IS NOT NULL GROUP BY project_id, session_id"
)
# `page_seq`: the visit's page views with a path, in time order (then by path), as (t, p) pairs — what
# `paths` numbers without sorting events; a visit written in parts merges its lists with `list_sort`.
# Each small list sorted after grouping: an ordered aggregate (`list(… ORDER BY …)`) sorts the batch's rows
# per visit: 2,135 against 523 ms for the visits of a month of 10 M events.
_PAGE_SEQ_OF = f"list_sort(list({{'t': timestamp, 'p': path}}) FILTER (WHERE {_PAGEVIEW}))"
# The visits of a set of events, as rows of the `visits` table.
VISITS_OF = _VISITS_OF_V3.replace(" FROM {source}", f", {_PAGE_SEQ_OF} FROM {{source}}")


def _earlier(name: str, after: str, *, later: bool = False) -> str:
    """SET clauses keeping the first (or last) non-empty value of a column, and when it was seen, counted
    again from the merged visit's start."""
    before, pick = (">", "greatest") if later else ("<", "least")
    stored = f"(epoch_ms(visits.started_at) + visits.{after})"
    arriving = f"(epoch_ms(excluded.started_at) + excluded.{after})"
    start = "epoch_ms(least(visits.started_at, excluded.started_at))"
    return (
        f" {name} = CASE WHEN {arriving} {before} {stored} OR visits.{after} IS NULL"
        f" THEN excluded.{name} ELSE visits.{name} END, {after} = {pick}({stored}, {arriving}) - {start},"
    )


# `page_views`: how many page views each page of `pages` had, in the same order. Both come from one histogram
# of the visit's paths (a map ordered by path), so that they stay aligned; a visit written in parts counts
# them again from its merged `page_seq`.
_HISTOGRAM = "histogram(path) FILTER (WHERE " + _PAGEVIEW + ")"
_MERGED_HISTOGRAM = (
    "list_aggregate(list_transform(list_concat(visits.page_seq, excluded.page_seq), lambda s: s.p),"
    " 'histogram')"
)
UPSERT_VISITS = (
    "INSERT INTO visits "
    # A new visit has no page marks yet; a changed one loses them (see `page_marks`).
    + VISITS_OF.replace("{source}", "fresh")
    .replace(f"list(DISTINCT path) FILTER (WHERE {_PAGEVIEW})", f"map_keys({_HISTOGRAM})")
    .replace(" FROM fresh", f", NULL, NULL, map_values({_HISTOGRAM}) FROM fresh")
    + " ON CONFLICT (project_id, session_id) DO UPDATE SET pages_before = NULL,"
    + "".join(_earlier(name, f"{name}_after") for name, _ in VISIT_FIRSTS)
    + _earlier("entry_page", "entry_after")
    + _earlier("exit_page", "exit_after", later=True)
    + f" pages = map_keys({_MERGED_HISTOGRAM}), page_views = map_values({_MERGED_HISTOGRAM}),"
    " pathless_pageviews = visits.pathless_pageviews + excluded.pathless_pageviews,"
    " event_names = list_distinct(list_concat(visits.event_names, excluded.event_names)),"
    " page_seq = list_sort(list_concat(visits.page_seq, excluded.page_seq)),"
    + " started_at = least(visits.started_at, excluded.started_at),"
    " ended_at = greatest(visits.ended_at, excluded.ended_at),"
    " events = visits.events + excluded.events, pageviews = visits.pageviews + excluded.pageviews"
)
