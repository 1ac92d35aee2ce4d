-- Detector: every review event once (event_id deduplicates re-polls and replays), the detector's per-partition
-- state with the next Kafka offset to read (written in the same transaction as the reviews of a batch), and the
-- incident events it emitted (one row per (incident_id, version), so a replay cannot record a state twice).
CREATE TABLE reviews (
    event_id     text PRIMARY KEY,
    merchant_id  text NOT NULL,
    platform     text NOT NULL,
    item_id      text NOT NULL,
    event_type   text NOT NULL,
    created_at   timestamptz NOT NULL,
    observed_at  timestamptz NOT NULL,
    rating       double precision,
    negativity   double precision,
    negative     boolean NOT NULL,
    polarity     text NOT NULL,
    language     text,
    payload      jsonb NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_merchant_created ON reviews (merchant_id, created_at);

CREATE TABLE detector_checkpoints (
    consumer_group text NOT NULL,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint NOT NULL,
    state          jsonb NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

CREATE TABLE detector_incidents (
    incident_id  text NOT NULL,
    version      integer NOT NULL,
    status       text NOT NULL,
    kind         text NOT NULL,
    severity     text NOT NULL,
    merchant_id  text NOT NULL,
    started_at   timestamptz NOT NULL,
    detected_at  timestamptz NOT NULL,
    payload      jsonb NOT NULL,
    emitted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, version)
);
CREATE INDEX detector_incidents_merchant ON detector_incidents (merchant_id, started_at);
