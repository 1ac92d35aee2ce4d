"""The shape of a simulator phrasebook: what one language needs to write varied, on-topic review texts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phrasebook:
    """Everything one language needs: titles and sentences to combine, so texts vary but stay on topic."""

    positive_titles: tuple[str, ...]
    positive_sentences: tuple[str, ...]
    neutral_titles: tuple[str, ...]
    neutral_sentences: tuple[str, ...]
    negative_titles: dict[str, tuple[str, ...]]
    negative_sentences: dict[str, tuple[str, ...]]
    negative_closings: tuple[str, ...]
    first_names: tuple[str, ...]
    last_initials: str
    locations: tuple[str, ...]
