"""Stormwatch tests: unit (no I/O), integration (real broker and PostgreSQL), e2e (the whole pipeline)."""
