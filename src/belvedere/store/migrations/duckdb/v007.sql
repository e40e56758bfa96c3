-- Store version 7 (duckdb). Released: never edit; add a new version instead.
-- Person hours (store.person_hours): the UTC hours (since the epoch) in which each stored id, and each
-- person as the alias links resolve it, had each event name ('' for any event). The store fills them from
-- the stored events after these statements, in parts (person_hours.fill).
CREATE TABLE id_hours (project_id BIGINT NOT NULL, stored_id VARCHAR NOT NULL, event VARCHAR NOT NULL, hours INTEGER[] NOT NULL, PRIMARY KEY (project_id, stored_id, event))
;
CREATE TABLE person_hours (project_id BIGINT NOT NULL, person VARCHAR NOT NULL, event VARCHAR NOT NULL, first_hour INTEGER NOT NULL, last_hour INTEGER NOT NULL, hours INTEGER[] NOT NULL, PRIMARY KEY (project_id, person, event))
