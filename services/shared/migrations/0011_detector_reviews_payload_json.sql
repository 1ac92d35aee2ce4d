-- Detector: review payloads as json, not jsonb. Every review is written once and read back whole (or by hand with
-- `->>`, which json keeps); building the jsonb form was the largest part of PostgreSQL's work per stored review.
-- The insert now reads the event's own fields with json_to_record, which parses the text once without building
-- anything: about 17-18 -> 12.5-15 µs of server CPU per review (BENCHMARKS.md). Rewrites the table once, holding
-- its lock meanwhile: ~11 µs per stored review measured (200,000 reviews in 2.2 s), so ~2 min for 10 million.
ALTER TABLE reviews ALTER COLUMN payload TYPE json USING payload::json;
