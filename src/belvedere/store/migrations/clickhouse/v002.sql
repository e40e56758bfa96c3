-- Store version 2 (clickhouse). Released: never edit; add a new version instead.
CREATE VIEW IF NOT EXISTS visits AS SELECT project_id, session_id, min(timestamp) AS started_at, max(timestamp) AS ended_at, count() AS events, countIf(event = '$pageview') AS pageviews FROM events WHERE session_id IS NOT NULL GROUP BY project_id, session_id
