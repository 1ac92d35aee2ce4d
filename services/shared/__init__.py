"""Code every Stormwatch service shares: events, schemas, settings, Kafka, PostgreSQL, HTTP, logging, metrics."""
