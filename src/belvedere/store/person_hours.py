"""Person hours: what lets the overview count distinct people without grouping millions of events (DuckDB's
store; ClickHouse reads its events).

Two tables, one row per (id, event name), and one more per id with the event name '' for any event:

- ``id_hours``: the UTC hours (whole hours since the epoch) in which a *stored* id had such events. The
  truth, only ever added to.
- ``person_hours``: the same for each *person*, as the alias links resolve the stored ids today
  (``coalesce(alias's person, stored id)``, one level, as the query compiler reads them), with the first and
  last hour beside the list.

Counting the people active in a range of whole hours is then a count of rows (``query.person_hours``),
instead of making (day, person) or (event, person) pairs distinct — 384,000 people and 776,000 (day, person)
pairs in 30 days of the 10 M-event bench store.

The writer keeps both up to date in the batch's own transaction: it adds the batch's hours to both, and
when an alias link is made or moved, it builds the rows of the people concerned again from ``id_hours``
(the person the alias counted as before, and the one it counts as now), so that ``person_hours`` always
says what the alias links say.
"""

from __future__ import annotations

import duckdb

_HOUR = "CAST(epoch_us(timestamp) // 3600000000 AS INTEGER)"

# The batch's (stored id, event, hour) rows, and (stored id, '', hour) for any event.
BATCH_HOURS = (
    "CREATE TEMP TABLE batch_hours AS WITH r AS (SELECT DISTINCT project_id, person_id AS stored_id, event,"
    f" {_HOUR} AS hour FROM fresh WHERE person_id IS NOT NULL)"
    " SELECT * FROM r UNION SELECT project_id, stored_id, '', hour FROM r"
)
# Adding the batch's hours: the rows it changes are found with their lists (a join), merged, deleted and
# inserted again; a row whose list already has every hour of the batch's is left alone. An upsert updating
# the lists in place cost 4 to 5 times as much per batch (DuckDB rewrites list columns slowly: 932 against
# ~250 ms for 2,000 events, bench/writer_hours.py).
ADD_ID_HOURS = (
    "CREATE TEMP TABLE changed_ids AS SELECT b.project_id, b.stored_id, b.event,"
    " CASE WHEN i.hours IS NULL THEN b.hours ELSE list_distinct(list_concat(i.hours, b.hours)) END AS hours,"
    " i.hours IS NOT NULL AS known FROM (SELECT project_id, stored_id, event, list(hour) AS hours"
    " FROM batch_hours GROUP BY project_id, stored_id, event) AS b LEFT JOIN id_hours AS i"
    " ON i.project_id = b.project_id AND i.stored_id = b.stored_id AND i.event = b.event"
    " WHERE i.hours IS NULL OR NOT list_has_all(i.hours, b.hours)",
    "DELETE FROM id_hours AS i USING changed_ids AS c WHERE c.known AND i.project_id = c.project_id"
    " AND i.stored_id = c.stored_id AND i.event = c.event",
    "INSERT INTO id_hours SELECT project_id, stored_id, event, hours FROM changed_ids",
)
# After the batch's alias links are stored: each stored id read through them.
ADD_PERSON_HOURS = (
    "CREATE TEMP TABLE changed_people AS SELECT b.project_id, b.person, b.event,"
    " least(b.first_hour, p.first_hour) AS first_hour, greatest(b.last_hour, p.last_hour) AS last_hour,"
    " CASE WHEN p.hours IS NULL THEN b.hours ELSE list_distinct(list_concat(p.hours, b.hours)) END AS hours,"
    " p.hours IS NOT NULL AS known FROM (SELECT h.project_id, coalesce(a.person_id, h.stored_id) AS person,"
    " h.event, min(h.hour) AS first_hour, max(h.hour) AS last_hour, list(DISTINCT h.hour) AS hours"
    " FROM batch_hours AS h LEFT JOIN person_aliases AS a ON a.project_id = h.project_id"
    " AND a.alias = h.stored_id GROUP BY h.project_id, person, h.event) AS b LEFT JOIN person_hours AS p"
    " ON p.project_id = b.project_id AND p.person = b.person AND p.event = b.event"
    " WHERE p.hours IS NULL OR NOT list_has_all(p.hours, b.hours)",
    "DELETE FROM person_hours AS p USING changed_people AS c WHERE c.known AND p.project_id = c.project_id"
    " AND p.person = c.person AND p.event = c.event",
    "INSERT INTO person_hours SELECT project_id, person, event, first_hour, last_hour, hours"
    " FROM changed_people",
)

# Before the batch's alias links ($project, $alias, $person: lists) are stored: the people whose rows they
# change — the person each alias counted as until now, and the one it counts as from now on.
CHANGED_PEOPLE = (
    "CREATE TEMP TABLE hours_people AS WITH changed AS ("
    " SELECT c.project_id, coalesce(a.person_id, c.alias) AS before, c.person AS after FROM"
    " (SELECT unnest($project) AS project_id, unnest($alias) AS alias, unnest($person) AS person) AS c"
    " LEFT JOIN person_aliases AS a ON a.project_id = c.project_id AND a.alias = c.alias"
    " WHERE a.person_id IS DISTINCT FROM c.person)"
    " SELECT project_id, before AS person FROM changed UNION SELECT project_id, after FROM changed"
)
# After the batch's hours and links are stored: those people's rows built again from their stored ids' —
# the person's own id (unless it is itself an alias) and every alias linked to it.
REBUILD_PEOPLE: tuple[str, ...] = (
    "DELETE FROM person_hours AS t USING hours_people AS h"
    " WHERE t.project_id = h.project_id AND t.person = h.person",
    "INSERT INTO person_hours WITH ids AS ("
    " SELECT h.project_id, h.person AS id FROM hours_people AS h WHERE NOT EXISTS"
    " (SELECT 1 FROM person_aliases AS a WHERE a.project_id = h.project_id AND a.alias = h.person)"
    " UNION ALL SELECT a.project_id, a.alias FROM person_aliases AS a"
    " JOIN hours_people AS h ON h.project_id = a.project_id AND h.person = a.person_id)"
    " SELECT i.project_id, coalesce(a.person_id, i.stored_id) AS person, i.event, min(u.hour), max(u.hour),"
    " list(DISTINCT u.hour) FROM id_hours AS i"
    " JOIN ids ON ids.project_id = i.project_id AND ids.id = i.stored_id"
    " LEFT JOIN person_aliases AS a ON a.project_id = i.project_id AND a.alias = i.stored_id,"
    " unnest(i.hours) AS u(hour) GROUP BY i.project_id, person, i.event",
)
DROP_TEMP = tuple(
    f"DROP TABLE IF EXISTS {name}"
    for name in ("batch_hours", "changed_ids", "changed_people", "hours_people")
)


Key = tuple[int, str, str]  # project, stored id, event name ('' for any event)


class SeenHours:
    """The (project, stored id, event) of each of the latest hours that ``id_hours`` holds, remembered by the
    one writer after each committed batch: its next batches mostly repeat them (a person active within the
    hour sends many events), and only the others need the upserts, which cost about 15 µs a row. A triple
    in ``id_hours`` is in ``person_hours`` too, under whichever person the alias links say (a link rebuilds
    its people from ``id_hours``). Anything that deletes rows of the tables must call ``forget``."""

    KEEP_HOURS = 3  # the newest hour seen and the two before it
    MAX_PER_HOUR = 100_000  # beyond, an hour's triples are written again (keeps its memory to tens of MB)

    def __init__(self) -> None:
        self._hours: dict[int, set[Key]] = {}

    def drop_seen(self, con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, str, int]]:
        """Remove from ``batch_hours`` the rows remembered; return the rows left."""
        rows: list[tuple[int, str, str, int]] = con.execute(
            "SELECT project_id, stored_id, event, hour FROM batch_hours"
        ).fetchall()
        new = [r for r in rows if (r[0], r[1], r[2]) not in self._hours.get(r[3], ())]
        if len(new) < len(rows):
            con.execute("DELETE FROM batch_hours")
            if new:
                columns = list(zip(*new, strict=True))
                con.execute(
                    "INSERT INTO batch_hours SELECT unnest($p), unnest($s), unnest($e), unnest($h)",
                    {
                        "p": list(columns[0]),
                        "s": list(columns[1]),
                        "e": list(columns[2]),
                        "h": list(columns[3]),
                    },
                )
        return new

    def remember(self, rows: list[tuple[int, str, str, int]]) -> None:
        """After the batch that added ``rows`` is committed."""
        for project_id, stored_id, event, hour in rows:
            seen = self._hours.get(hour)
            if seen is None:
                if self._hours and hour < max(self._hours) - self.KEEP_HOURS + 1:
                    continue  # a late event's hour: not worth keeping
                seen = self._hours[hour] = set()
            if len(seen) < self.MAX_PER_HOUR:
                seen.add((project_id, stored_id, event))
        newest = max(self._hours, default=0)
        for hour in [h for h in self._hours if h <= newest - self.KEEP_HOURS]:
            del self._hours[hour]

    def forget(self) -> None:
        self._hours.clear()


# Filling the tables from the stored events (store version 7), one part of the ids after the other: the
# whole in one statement needs more memory than a small store's limit (10 M events, 512 MB: out of memory).
_EVENTS_PER_PART = 1_000_000
_FILL_IDS = (
    "INSERT INTO id_hours SELECT project_id, stored_id, event, list(DISTINCT hour) FROM ("
    f" SELECT project_id, person_id AS stored_id, event, {_HOUR} AS hour FROM events"
    " WHERE person_id IS NOT NULL AND hash(person_id) % $parts = $part"
    f" UNION ALL SELECT project_id, person_id, '', {_HOUR} FROM events"
    " WHERE person_id IS NOT NULL AND hash(person_id) % $parts = $part"
    ") GROUP BY project_id, stored_id, event"
)
_FILL_PEOPLE = (
    "INSERT INTO person_hours SELECT i.project_id, coalesce(a.person_id, i.stored_id) AS person, i.event,"
    " min(u.hour), max(u.hour), list(DISTINCT u.hour) FROM id_hours AS i"
    " LEFT JOIN person_aliases AS a ON a.project_id = i.project_id AND a.alias = i.stored_id,"
    " unnest(i.hours) AS u(hour) WHERE hash(coalesce(a.person_id, i.stored_id)) % $parts = $part"
    " GROUP BY i.project_id, person, i.event"
)


def fill(con: duckdb.DuckDBPyConnection) -> None:
    """Fill both tables from the stored events and alias links, in parts of about a million events."""
    row = con.execute("SELECT count(*) FROM events").fetchone()
    parts = max(1, -(-int(row[0] if row else 0) // _EVENTS_PER_PART))
    for statement in (_FILL_IDS, _FILL_PEOPLE):
        for part in range(parts):
            con.execute(statement, {"parts": parts, "part": part})
