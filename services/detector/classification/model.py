"""The fitted text scorer: embedding logistic regression, lexicon cues and per-language calibration (pure numpy)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.detector.classification.lexicon import LexiconSignal
from services.detector.classification.types import CATEGORIES, Category

WEIGHTS_FILE = Path(__file__).with_name("weights.npz")
# The embeddings are unit vectors with small coordinates; scaling them keeps the fitted weights near 1.
EMBEDDING_SCALE = 10.0
STACK_FEATURES = ("embedding", "negative_cues", "positive_cues", "sarcasm", "sarcastic_praise", "question")


def stack_features(embedding_logit: float, signal: LexiconSignal) -> list[float]:
    """The calibration inputs of one text, in STACK_FEATURES order (shared by fitting and scoring)."""
    negative = math.log1p(signal.negative)
    positive = math.log1p(signal.positive)
    sarcasm = min(signal.sarcasm, 2.0)
    # Praise next to a sarcasm marker ("Great, another week without my parcel 🙄") is a complaint.
    return [embedding_logit, negative, positive, sarcasm, sarcasm * positive, float(signal.question)]


def keyword_features(counts: Sequence[float]) -> NDArray[np.float64]:
    return np.log1p(np.asarray(counts, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class TextVerdict:
    """What the text says: how negative (calibrated probability) and, if it is a complaint, about what."""

    negativity: float
    category: Category


@dataclass(frozen=True)
class TextModel:
    """Weights fitted by `train.py` on the tune split; see that module for how each part is fitted."""

    negative_weights: NDArray[np.float64]  # (384,) logistic regression on the scaled embedding
    negative_bias: float
    stack_weights: NDArray[np.float64]  # (len(STACK_FEATURES),)
    stack_bias: float
    language_bias: dict[str, float]  # per-language calibration offsets; unknown languages get 0
    category_weights: NDArray[np.float64]  # (384, len(CATEGORIES)) softmax regression
    category_bias: NDArray[np.float64]  # (len(CATEGORIES),)
    keyword_weight: float  # how much one (log) keyword hit adds to a category's log-probability

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> TextModel:
        with np.load(path, allow_pickle=False) as data:
            languages = [str(code) for code in data["languages"]]
            return cls(
                negative_weights=data["negative_weights"].astype(np.float64),
                negative_bias=float(data["negative_bias"]),
                stack_weights=data["stack_weights"].astype(np.float64),
                stack_bias=float(data["stack_bias"]),
                language_bias=dict(zip(languages, (float(b) for b in data["language_bias"]), strict=True)),
                category_weights=data["category_weights"].astype(np.float64),
                category_bias=data["category_bias"].astype(np.float64),
                keyword_weight=float(data["keyword_weight"]),
            )

    def save(self, path: Path = WEIGHTS_FILE) -> None:
        languages = sorted(self.language_bias)
        np.savez_compressed(
            path,
            negative_weights=self.negative_weights.astype(np.float32),
            negative_bias=np.float64(self.negative_bias),
            stack_weights=self.stack_weights,
            stack_bias=np.float64(self.stack_bias),
            languages=np.array(languages),
            language_bias=np.array([self.language_bias[code] for code in languages]),
            category_weights=self.category_weights.astype(np.float32),
            category_bias=self.category_bias,
            keyword_weight=np.float64(self.keyword_weight),
        )

    def embedding_logits(self, embeddings: NDArray[np.float32]) -> NDArray[np.float64]:
        scaled = embeddings.astype(np.float64) * EMBEDDING_SCALE
        result: NDArray[np.float64] = scaled @ self.negative_weights + self.negative_bias
        return result

    def negativity(
        self, embeddings: NDArray[np.float32], signals: Sequence[LexiconSignal], languages: Sequence[str | None]
    ) -> NDArray[np.float64]:
        logits = self.embedding_logits(embeddings)
        features = np.array([stack_features(float(z), s) for z, s in zip(logits, signals, strict=True)])
        offsets = np.array([self.language_bias.get(language or "", 0.0) for language in languages])
        z = features.reshape(len(signals), len(STACK_FEATURES)) @ self.stack_weights + self.stack_bias + offsets
        result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        return result

    def category_scores(
        self, embeddings: NDArray[np.float32], keyword_counts: Sequence[Sequence[float]]
    ) -> NDArray[np.float64]:
        """Log-probabilities per category from the embedding, plus the weighted keyword hits."""
        logits = embeddings.astype(np.float64) * EMBEDDING_SCALE @ self.category_weights + self.category_bias
        logits -= logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        keywords = np.array([keyword_features(c) for c in keyword_counts]).reshape(len(keyword_counts), -1)
        result: NDArray[np.float64] = log_probs + self.keyword_weight * keywords
        return result

    def verdicts(
        self,
        embeddings: NDArray[np.float32],
        signals: Sequence[LexiconSignal],
        keyword_counts: Sequence[Sequence[float]],
        languages: Sequence[str | None],
    ) -> list[TextVerdict]:
        negativity = self.negativity(embeddings, signals, languages)
        categories = self.category_scores(embeddings, keyword_counts).argmax(axis=1)
        return [
            TextVerdict(negativity=float(n), category=CATEGORIES[int(c)])
            for n, c in zip(negativity, categories, strict=True)
        ]
