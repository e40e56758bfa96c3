-- Store version 7 (clickhouse). Released: never edit; add a new version instead.
-- Cohort members (insights.cohorts): the people of each saved cohort, replaced whole at each computation.
CREATE TABLE IF NOT EXISTS cohort_members (project_id Int64, cohort_id Int64, person_id String) ENGINE = MergeTree ORDER BY (project_id, cohort_id, person_id)
