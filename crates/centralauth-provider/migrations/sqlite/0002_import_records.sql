-- What the last import from another installation (django-centralauth) wrote for each entity:
-- a fingerprint per compared field, as a JSON object. A repeated import compares against it to
-- tell a change made here from one made at the source (a three-way merge), so that it updates
-- what changed only there and reports what changed on both sides instead of overwriting it.
CREATE TABLE import_records (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_key TEXT NOT NULL,
    fields TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (source, kind, record_key)
);
