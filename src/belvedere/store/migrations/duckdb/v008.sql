-- Store version 8 (duckdb). Released: never edit; add a new version instead.
-- Cohort members (insights.cohorts): the people of each saved cohort, as the alias links resolve them,
-- replaced whole each time the cohort is computed. Queries read them through the scoping compiler.
CREATE TABLE cohort_members (project_id BIGINT NOT NULL, cohort_id BIGINT NOT NULL, person_id VARCHAR NOT NULL, PRIMARY KEY (project_id, cohort_id, person_id))
