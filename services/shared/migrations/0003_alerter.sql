-- Alerter: the latest state and responder state of each incident, every state received, and the notification
-- log, which is both the outbox of delivery and the audit trail of who was notified of what, when.

CREATE TABLE incidents (
    incident_id      text PRIMARY KEY,
    version          bigint NOT NULL,
    status           text NOT NULL CHECK (status IN ('open', 'update', 'resolved')),
    kind             text NOT NULL,
    severity         text NOT NULL,
    merchant_id      text NOT NULL,
    platform         text,
    category         text,
    title            text NOT NULL,
    summary          text NOT NULL,
    started_at       timestamptz NOT NULL,
    detected_at      timestamptz NOT NULL,
    -- When the detector saw the condition clear, or when a responder resolved it (whichever came first).
    resolved_at      timestamptz,
    payload          jsonb NOT NULL,
    response_state   text NOT NULL DEFAULT 'triggered'
                     CHECK (response_state IN ('triggered', 'acknowledged', 'resolved')),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_by      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The API lists newest first, optionally for one merchant.
CREATE INDEX incidents_started_idx ON incidents (started_at DESC, incident_id);
CREATE INDEX incidents_merchant_started_idx ON incidents (merchant_id, started_at DESC);

-- Every state as received: a notification must carry the exact state it announces, even when a newer state of
-- the same incident has arrived before it was delivered.
CREATE TABLE incident_states (
    incident_id  text NOT NULL,
    version      bigint NOT NULL,
    status       text NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, version)
);

CREATE TABLE notifications (
    notification_id  text PRIMARY KEY,
    incident_id      text NOT NULL,
    version          bigint NOT NULL,
    receiver         text NOT NULL,
    -- Why this receiver: the route path that chose it.
    route            text NOT NULL DEFAULT '',
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    -- Pending: when it is due. Sending: when the claim's lease runs out (a crashed sender's row becomes due again).
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_reason      text,
    -- Short and fixed-vocabulary ("HTTP 503", "timeout"): never response bodies, URLs or review text.
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    -- End to end: the incident state's observed_at (newest review seen by a poller) to delivery; NULL if unknown.
    latency_seconds  double precision,
    UNIQUE (incident_id, version, receiver),
    FOREIGN KEY (incident_id, version) REFERENCES incident_states (incident_id, version)
);

-- The due-work query of each receiver's delivery lane.
CREATE INDEX notifications_due_idx ON notifications (receiver, next_attempt_at)
    WHERE status IN ('pending', 'sending');
-- "Is an earlier version of this incident still open for this receiver?" (states are delivered in order).
CREATE INDEX notifications_open_order_idx ON notifications (incident_id, receiver, version)
    WHERE status IN ('pending', 'sending');
