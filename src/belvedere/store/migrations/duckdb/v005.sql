-- Store version 5 (duckdb). Released: never edit; add a new version instead.
CREATE TEMP TABLE page_marks AS WITH theirs AS (SELECT v.rowid AS visit_row, v.project_id, v.session_id, v.started_at, v.pages, coalesce(a.person_id, v.person) AS person, NULL AS old_before, NULL AS old_for FROM visits AS v LEFT JOIN person_aliases AS a ON a.project_id = v.project_id AND a.alias = v.person WHERE v.person IS NOT NULL), each_page AS (SELECT project_id, session_id, started_at, person, unnest(pages) AS page, generate_subscripts(pages, 1) AS i FROM theirs), marked AS (SELECT project_id, session_id, i, lag(started_at) OVER (PARTITION BY project_id, person, page ORDER BY started_at, session_id) AS before FROM each_page) SELECT t.visit_row, t.person, any_value(t.old_before) AS old_before, any_value(t.old_for) AS old_for, coalesce(list(m.before ORDER BY m.i) FILTER (WHERE m.i IS NOT NULL), []::TIMESTAMP[]) AS before FROM theirs AS t LEFT JOIN marked AS m ON m.project_id = t.project_id AND m.session_id = t.session_id GROUP BY t.visit_row, t.person
;
CREATE TEMP TABLE marked_visits AS SELECT v.*, m.before AS pages_before, m.person AS marked_for FROM visits AS v LEFT JOIN page_marks AS m ON m.visit_row = v.rowid
;
DELETE FROM visits
;
ALTER TABLE visits ADD COLUMN pages_before TIMESTAMP[]
;
ALTER TABLE visits ADD COLUMN marked_for VARCHAR
;
INSERT INTO visits SELECT * FROM marked_visits ORDER BY project_id, started_at
;
DROP TABLE page_marks
;
DROP TABLE marked_visits
;
CREATE TABLE remark_people (project_id BIGINT NOT NULL, person VARCHAR NOT NULL)
