-- Alerter noise control and escalation: suppressed notifications stay in the log (the audit says why), a
-- notification may wait for a state to still be open (pending_for, escalation levels), escalation steps of one
-- incident state to one receiver are distinct rows, and silences live here.

ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'dead', 'suppressed'));

-- '' for the state's own notification; 'escalation:<level>:<round>' for escalation steps.
ALTER TABLE notifications ADD COLUMN step text NOT NULL DEFAULT '';
ALTER TABLE notifications DROP CONSTRAINT notifications_incident_id_version_receiver_key;
ALTER TABLE notifications ADD CONSTRAINT notifications_state_receiver_step_key
    UNIQUE (incident_id, version, receiver, step);
-- A condition checked when the row is due: '' none; 'unacknowledged' (pending_for, escalation levels: nobody
-- acknowledged or resolved it yet); 'acknowledged' (ack timeout: acknowledged but still not resolved).
ALTER TABLE notifications ADD COLUMN requires text NOT NULL DEFAULT ''
    CHECK (requires IN ('', 'unacknowledged', 'acknowledged'));
-- The aggregation group (route path + group_by values): group_wait / group_interval count per group.
ALTER TABLE notifications ADD COLUMN group_key text NOT NULL DEFAULT '';
-- Why this notification was planned (or suppressed), stage by stage: the explain output, kept for the audit.
ALTER TABLE notifications ADD COLUMN explanation text NOT NULL DEFAULT '';

CREATE INDEX notifications_group_idx ON notifications (group_key, receiver, created_at DESC);
CREATE INDEX notifications_receiver_created_idx ON notifications (receiver, created_at DESC);

CREATE TABLE silences (
    silence_id  text PRIMARY KEY,
    -- Exact matchers on merchant, platform, kind, severity, category: {"merchant": "acme", "kind": "..."}.
    matchers    jsonb NOT NULL,
    owner       text NOT NULL,
    reason      text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set when deleted through the API before its end.
    expired_at  timestamptz,
    CHECK (ends_at > starts_at)
);
CREATE INDEX silences_active_idx ON silences (ends_at) WHERE expired_at IS NULL;

-- The daily digest's own log: one row per merchant, local day and receiver, written before the send, so a digest
-- goes out at most once per merchant-day (a crash mid-send leaves 'sending', retried once its lease is over).
CREATE TABLE digests (
    merchant_id  text NOT NULL,
    day          date NOT NULL,
    receiver     text NOT NULL,
    status       text NOT NULL DEFAULT 'sending' CHECK (status IN ('sending', 'delivered', 'failed')),
    attempts     integer NOT NULL DEFAULT 1,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    summary      jsonb,
    PRIMARY KEY (merchant_id, day, receiver)
);
