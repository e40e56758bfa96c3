-- Store version 1 (clickhouse). Released: never edit; add a new version instead.
CREATE TABLE IF NOT EXISTS events (
  uuid UUID,
  project_id Int64,
  timestamp DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  event String,
  distinct_id Nullable(String),
  person_id Nullable(String),
  session_id Nullable(String),
  url Nullable(String),
  host Nullable(String),
  path Nullable(String),
  title Nullable(String),
  referrer Nullable(String),
  referrer_domain Nullable(String),
  channel Nullable(String),
  utm_source Nullable(String),
  utm_medium Nullable(String),
  utm_campaign Nullable(String),
  utm_term Nullable(String),
  utm_content Nullable(String),
  country Nullable(String),
  region Nullable(String),
  city Nullable(String),
  browser Nullable(String),
  browser_version Nullable(String),
  os Nullable(String),
  os_version Nullable(String),
  device_type Nullable(String),
  screen Nullable(String),
  locale Nullable(String),
  properties String DEFAULT '',
  revenue Nullable(Float64),
  cost Nullable(Float64)
) ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (project_id, timestamp)
;
CREATE TABLE IF NOT EXISTS persons_state (project_id Int64, distinct_id String, properties String, created_at DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC'), version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, distinct_id)
;
CREATE VIEW IF NOT EXISTS persons AS SELECT project_id, distinct_id, properties, created_at, updated_at FROM persons_state FINAL
;
CREATE TABLE IF NOT EXISTS person_aliases_state (project_id Int64, alias String, person_id String, created_at DateTime64(3, 'UTC'), version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, alias)
;
CREATE VIEW IF NOT EXISTS person_aliases AS SELECT project_id, alias, person_id, created_at FROM person_aliases_state FINAL
;
CREATE TABLE IF NOT EXISTS ingest_checkpoint (id UInt8, segment Nullable(Int64), position Nullable(Int64), pending_segment Nullable(Int64), pending_position Nullable(Int64), version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id
