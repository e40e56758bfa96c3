"""Page marks: what lets a page breakdown count each page's visitors without making (page, person) pairs
distinct (DuckDB's `visits` table; ClickHouse's visits view carries none and is always counted exactly).

For each page of a visit (`visits.pages`), `visits.pages_before` holds when the same person's latest earlier
visit with that page started (NULL: none). In a date range, a person then counts once under a page: at the
first visit of the range that has it, the one whose mark is NULL or before the range's start. The marks are
true only of what they were computed from, so:

- the writer clears a visit's marks whenever it changes the visit (`pages_before` NULL: unmarked);
- a visit remembers whom its marks were computed for (`marked_for`, the person through the alias links):
  a late event can make it another person's visit;
- a new or changed alias link records the ids it touches in `remark_people`.

`DuckDBEventStore.mark_pages` computes the marks again for every visit of each person that these name; a
breakdown counts those people the exact way until then (`query.kinds.breakdown`).
"""

from __future__ import annotations

_RESOLVED = "coalesce(a.person_id, {t}.person)"
_ALIAS_OF = " LEFT JOIN person_aliases AS a ON a.project_id = {t}.project_id AND a.alias = {t}.person"

# The marks of the visits in `theirs` (visit_row, project_id, session_id, started_at, pages, person, and the
# marks they hold: old_before, old_for): one window over (person, page) in order of start, folded back into a
# list in the order of `pages`.
_MARKS_OF = (
    "{theirs}, each_page AS (SELECT project_id, session_id, started_at, person, unnest(pages) AS page,"
    " generate_subscripts(pages, 1) AS i FROM theirs),"
    " marked AS (SELECT project_id, session_id, i, lag(started_at)"
    " OVER (PARTITION BY project_id, person, page ORDER BY started_at, session_id) AS before FROM each_page)"
    " SELECT t.visit_row, t.person, any_value(t.old_before) AS old_before, any_value(t.old_for) AS old_for,"
    " coalesce(list(m.before ORDER BY m.i) FILTER (WHERE m.i IS NOT NULL), []::TIMESTAMP[]) AS before"
    " FROM theirs AS t LEFT JOIN marked AS m ON m.project_id = t.project_id AND m.session_id = t.session_id"
    " GROUP BY t.visit_row, t.person"
)

# The people whose visits need marks: those of the unmarked visits (as the alias links now say, and as they
# were when last marked), and each id an alias change touched, as itself and as its person now.
_PEOPLE = (
    "CREATE TEMP TABLE mark_people AS SELECT DISTINCT project_id, person FROM ("
    f" SELECT v.project_id, {_RESOLVED.format(t='v')} AS person FROM visits AS v{_ALIAS_OF.format(t='v')}"
    " WHERE v.pages_before IS NULL AND v.person IS NOT NULL"
    " UNION ALL SELECT project_id, marked_for FROM visits"
    " WHERE pages_before IS NULL AND marked_for IS NOT NULL"
    " UNION ALL SELECT project_id, person FROM remark_people"
    f" UNION ALL SELECT r.project_id, {_RESOLVED.format(t='r')}"
    f" FROM remark_people AS r{_ALIAS_OF.format(t='r')}"
    ")"
)
# Their visits: those stored under each of their ids (the person's own, unless it is itself an alias, and the
# aliases linked to it), found by a join on the stored id.
_THEIRS = (
    "WITH ids AS (SELECT p.project_id, p.person AS id, p.person FROM mark_people AS p"
    " WHERE NOT EXISTS (SELECT 1 FROM person_aliases AS a WHERE a.project_id = p.project_id"
    " AND a.alias = p.person)"
    " UNION ALL SELECT a.project_id, a.alias, a.person_id FROM person_aliases AS a"
    " JOIN mark_people AS p ON p.project_id = a.project_id AND p.person = a.person_id),"
    " theirs AS (SELECT v.rowid AS visit_row, v.project_id, v.session_id, v.started_at, v.pages, i.person,"
    " v.pages_before AS old_before, v.marked_for AS old_for FROM visits AS v"
    " JOIN ids AS i ON i.project_id = v.project_id AND i.id = v.person)"
)
# Only the visits whose marks change are written again, as a delete and an insert: DuckDB updates a list
# column of a table with a primary key at about 200 µs a row, and deletes and inserts the row at about 20.
# A pass over the 2 million visits of `bench/query.py`'s store: 32 ms with nothing to mark, 231 ms for the
# 1,000 latest visits, 539 ms for 10,000, 1.9 s for 50,000 (it was 660 ms for 1,000 when every visit's id was
# resolved before finding theirs, and every visit of theirs compared with its marks by a full scan); 6.9 s for
# 200,000, 22 s for 1 million, 47 s for all 2.08 million (a store filled unmarked, as the bench builds it): as
# fast as the migration's way, which writes the whole table again (46 s).
MARK_STATEMENTS = (
    _PEOPLE,
    "CREATE TEMP TABLE page_marks AS SELECT * FROM (" + _MARKS_OF.format(theirs=_THEIRS) + ")"
    " WHERE old_before IS DISTINCT FROM before OR old_for IS DISTINCT FROM person",
    # Mostly recent visits, at the end of the table: the scan skips the row groups outside their row ids.
    "CREATE TEMP TABLE remarked AS SELECT v.rowid AS visit_row,"
    " v.* REPLACE (m.before AS pages_before, m.person AS marked_for)"
    " FROM visits AS v JOIN page_marks AS m ON m.visit_row = v.rowid",
    "DELETE FROM visits WHERE rowid IN (SELECT visit_row FROM remarked)",
    "INSERT INTO visits SELECT * EXCLUDE (visit_row) FROM remarked ORDER BY project_id, started_at",
    "DELETE FROM remark_people",
)
MARKED_COUNT = "SELECT count(*) FROM remarked"
DROP_TEMP = tuple(f"DROP TABLE IF EXISTS {t}" for t in ("remarked", "page_marks", "mark_people"))

# Before the writer changes alias links: the ids they touch (the alias, its new person, its old person).
RECORD_REMARKS = (
    "INSERT INTO remark_people SELECT project_id, person FROM ("
    " SELECT unnest($project) AS project_id, unnest($alias) AS person"
    " UNION ALL SELECT unnest($project), unnest($person)"
    " UNION ALL SELECT a.project_id, a.person_id FROM person_aliases AS a"
    " JOIN (SELECT unnest($project) AS project_id, unnest($alias) AS alias) AS n"
    " ON n.project_id = a.project_id AND n.alias = a.alias)"
)
