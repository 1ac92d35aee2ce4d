"""Benchmarks: measured figures for BENCHMARKS.md (never timing assertions in tests)."""
