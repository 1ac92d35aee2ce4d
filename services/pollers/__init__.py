"""The pollers service: one poll loop per configured source, publishing normalised review events to Kafka."""
