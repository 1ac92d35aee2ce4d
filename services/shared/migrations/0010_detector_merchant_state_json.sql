-- Detector: merchant state rows as json, not jsonb. Every batch rewrites the state of each merchant it touched
-- (about 1.5-4 KB of JSON); PostgreSQL only stores and returns it whole, and converting it to jsonb on every write
-- cost about as much again as the rest of the upsert (BENCHMARKS.md). json still checks the syntax and keeps the
-- `->` operators for anyone inspecting a merchant's state by hand.
ALTER TABLE detector_merchant_state ALTER COLUMN state TYPE json USING state::json;
