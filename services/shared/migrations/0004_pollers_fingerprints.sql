-- Pollers: the content fingerprint of every item a source published, so edits and deletions become events.
CREATE TABLE item_fingerprints (
    source_id   text NOT NULL,
    item_id     text NOT NULL,
    fingerprint text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, item_id)
);
