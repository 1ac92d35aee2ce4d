"""The labelled review sets (tests/data/classification) and the per-language scores the README and tests report."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.detector.classification.types import CATEGORIES, Category, Classification

Split = Literal["tune", "eval"]
DATA_DIR = Path(__file__).resolve().parents[3] / "tests" / "data" / "classification"


@dataclass(frozen=True, slots=True)
class LabelledReview:
    id: str
    text: str
    language: str
    negative: bool
    category: Category  # the complaint category; "other" for reviews that are not negative
    split: Split


def load_labelled(data_dir: Path = DATA_DIR, split: Split | None = None) -> list[LabelledReview]:
    """Every labelled review in `data_dir/*.jsonl`, optionally of one split only."""
    reviews = []
    for path in sorted(data_dir.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["category"] not in CATEGORIES or row["split"] not in ("tune", "eval"):
                raise ValueError(f"{path.name}:{number}: bad category or split")
            review = LabelledReview(
                id=row["id"],
                text=row["text"],
                language=row["language"],
                negative=bool(row["negative"]),
                category=row["category"],
                split=row["split"],
            )
            if split is None or review.split == split:
                reviews.append(review)
    return reviews


@dataclass(frozen=True, slots=True)
class LanguageScore:
    language: str
    texts: int  # labelled texts (negativity)
    macro_f1: float  # negativity: mean F1 of the negative and the not-negative class
    complaints: int  # labelled negative texts (category)
    category_accuracy: float  # share of labelled negative texts given their category
    language_accuracy: float  # share of texts whose language was identified correctly


def _f1(truth: Sequence[bool], predicted: Sequence[bool], positive: bool) -> float:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == positive and p == positive)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != positive and p == positive)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == positive and p != positive)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def macro_f1(truth: Sequence[bool], predicted: Sequence[bool]) -> float:
    return (_f1(truth, predicted, True) + _f1(truth, predicted, False)) / 2


def score_by_language(reviews: Sequence[LabelledReview], results: Sequence[Classification]) -> dict[str, LanguageScore]:
    """Per-language scores of `results` (classified without the language field, so identification counts too).

    Category accuracy is over the labelled complaints: a complaint the classifier missed (judged not negative)
    gets "other" and so counts as wrong, as it would in the detector.
    """
    scores = {}
    for language in sorted({r.language for r in reviews}):
        pairs = [(r, c) for r, c in zip(reviews, results, strict=True) if r.language == language]
        complaints = [(r, c) for r, c in pairs if r.negative]
        scores[language] = LanguageScore(
            language=language,
            texts=len(pairs),
            macro_f1=macro_f1([r.negative for r, _ in pairs], [c.negative for _, c in pairs]),
            complaints=len(complaints),
            category_accuracy=_share(r.category == c.category for r, c in complaints),
            language_accuracy=_share(r.language == c.language for r, c in pairs),
        )
    return scores


def _share(hits: Iterable[bool]) -> float:
    values = list(hits)
    return sum(values) / len(values) if values else 1.0
