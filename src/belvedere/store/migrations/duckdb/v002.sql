-- Store version 2 (duckdb). Released: never edit; add a new version instead.
CREATE TABLE visits (project_id BIGINT NOT NULL, session_id VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, ended_at TIMESTAMP NOT NULL, events BIGINT NOT NULL, pageviews BIGINT NOT NULL, PRIMARY KEY (project_id, session_id))
;
INSERT INTO visits SELECT project_id, session_id, min(timestamp), max(timestamp), count(*), count(*) FILTER (WHERE event = '$pageview') FROM events WHERE session_id IS NOT NULL GROUP BY project_id, session_id
