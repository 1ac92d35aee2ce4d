-- Pollers: one cursor (high-water mark) per source, advanced only after Kafka acknowledged the batch.
CREATE TABLE source_cursors (
    source_id       text PRIMARY KEY,
    platform        text NOT NULL,
    cursor          jsonb NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_success_at timestamptz
);
