-- Alerter: who an escalation step targeted (people, schedules), rate caps that defer, group sends that carry
-- several incident states, and the response times the SLA API reports.

-- When the plan made the notification due (rate caps count per hour on it; retries move next_attempt_at, not this).
ALTER TABLE notifications ADD COLUMN due_at timestamptz;
-- The escalation target behind the receiver: 'person:ana', 'schedule:primary -> person:ana'; '' for routes.
ALTER TABLE notifications ADD COLUMN target text NOT NULL DEFAULT '';
-- Set when a stage moved the notification later than its route asked ('rate_capped'): deferred, not suppressed.
ALTER TABLE notifications ADD COLUMN deferred text;
-- A group send: the notification id of the one message that carried this row (its own id when alone).
ALTER TABLE notifications ADD COLUMN sent_as text;

CREATE INDEX notifications_receiver_due_idx ON notifications (receiver, due_at) WHERE step = '';

-- Time to first public reply: when the merchant first answered a review behind the incident (from the detector).
ALTER TABLE incidents ADD COLUMN first_reply_at timestamptz;
ALTER TABLE incidents ADD COLUMN first_reply_seconds double precision;
