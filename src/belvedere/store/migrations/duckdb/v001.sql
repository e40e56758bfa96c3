-- Store version 1 (duckdb). Released: never edit; add a new version instead.
CREATE TABLE events (
  uuid UUID NOT NULL,
  project_id BIGINT NOT NULL,
  timestamp TIMESTAMP NOT NULL,
  received_at TIMESTAMP NOT NULL,
  event VARCHAR NOT NULL,
  distinct_id VARCHAR,
  person_id VARCHAR,
  session_id VARCHAR,
  url VARCHAR,
  host VARCHAR,
  path VARCHAR,
  title VARCHAR,
  referrer VARCHAR,
  referrer_domain VARCHAR,
  channel VARCHAR,
  utm_source VARCHAR,
  utm_medium VARCHAR,
  utm_campaign VARCHAR,
  utm_term VARCHAR,
  utm_content VARCHAR,
  country VARCHAR,
  region VARCHAR,
  city VARCHAR,
  browser VARCHAR,
  browser_version VARCHAR,
  os VARCHAR,
  os_version VARCHAR,
  device_type VARCHAR,
  screen VARCHAR,
  locale VARCHAR,
  properties JSON,
  revenue DOUBLE,
  cost DOUBLE
)
;
CREATE TABLE persons (project_id BIGINT NOT NULL, distinct_id VARCHAR NOT NULL, properties JSON, created_at TIMESTAMP, updated_at TIMESTAMP, PRIMARY KEY (project_id, distinct_id))
;
CREATE TABLE person_aliases (project_id BIGINT NOT NULL, alias VARCHAR NOT NULL, person_id VARCHAR NOT NULL, created_at TIMESTAMP, PRIMARY KEY (project_id, alias))
;
CREATE TABLE ingest_checkpoint (id INTEGER PRIMARY KEY, segment BIGINT, position BIGINT)
