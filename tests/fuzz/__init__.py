"""Fuzzers for every boundary (hypothesis, and atheris where it installs)."""
