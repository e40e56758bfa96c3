-- Store version 6 (duckdb). Released: never edit; add a new version instead.
CREATE TEMP TABLE counted_visits AS SELECT *, list_transform(pages, lambda p: len(list_filter(page_seq, lambda s: s.p = p))) AS page_views FROM visits
;
DELETE FROM visits
;
ALTER TABLE visits ADD COLUMN page_views BIGINT[]
;
INSERT INTO visits SELECT * FROM counted_visits ORDER BY project_id, started_at
;
DROP TABLE counted_visits
