"""Fits the shipped weights.npz on the TUNE split only: `python -m services.detector.classification.train`."""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.detector.classification.embedder import E5Embedder
from services.detector.classification.evaluation import DATA_DIR, LabelledReview, load_labelled
from services.detector.classification.lexicon import category_counts, sentiment_signal
from services.detector.classification.model import (
    EMBEDDING_SCALE,
    STACK_FEATURES,
    WEIGHTS_FILE,
    TextModel,
    keyword_features,
    stack_features,
)
from services.detector.classification.types import CATEGORIES

FOLDS = 5
EMBEDDING_L2 = 3.0  # chosen by cross-validation on the tune split (1.0, 3.0 and 10.0 were tried)
STACK_L2 = 1.0
LANGUAGE_L2 = 4.0  # pulls the per-language offsets towards 0 where a language has few tune texts
CATEGORY_L2 = 1.0
KEYWORD_WEIGHTS = tuple(i / 4 for i in range(25))  # 0 .. 6, the one with the best out-of-fold accuracy wins

Array = NDArray[np.float64]


def fit_logistic(x: Array, y: Array, l2: Array | float, iterations: int = 50) -> tuple[Array, float]:
    """L2-regularised logistic regression by Newton's method; the intercept is not penalised."""
    rows, columns = x.shape
    design = np.hstack([x, np.ones((rows, 1))])
    penalty = np.diag(np.append(np.broadcast_to(np.asarray(l2, dtype=np.float64), (columns,)), 0.0))
    w = np.zeros(columns + 1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def fit_softmax(x: Array, labels: NDArray[np.int64], l2: float, iterations: int = 3000) -> tuple[Array, Array]:
    """L2-regularised multinomial logistic regression by gradient descent (small data: a few hundred rows)."""
    classes = len(CATEGORIES)
    targets = np.eye(classes)[labels]
    weights, bias = np.zeros((x.shape[1], classes)), np.zeros(classes)
    rate = 0.5
    for _ in range(iterations):
        logits = x @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        error = (probs - targets) / len(x)
        weights -= rate * (x.T @ error + l2 * weights / len(x))
        bias -= rate * error.sum(axis=0)
    return weights, bias


def folds(reviews: Sequence[LabelledReview]) -> NDArray[np.int64]:
    """A fold number per review, dealt round-robin within each language and label so every fold has all kinds."""
    assignment = np.zeros(len(reviews), dtype=np.int64)
    counters: dict[tuple[str, bool], int] = {}
    for i, review in enumerate(reviews):
        key = (review.language, review.negative)
        counters[key] = counters.get(key, 0) + 1
        assignment[i] = counters[key] % FOLDS
    return assignment


def fit(reviews: Sequence[LabelledReview], embeddings: NDArray[np.float32]) -> TextModel:
    """All weights from the tune reviews and their embeddings; calibration uses out-of-fold predictions only."""
    x = embeddings.astype(np.float64) * EMBEDDING_SCALE
    y = np.array([r.negative for r in reviews], dtype=np.float64)
    fold = folds(reviews)

    # 1. Negativity from the embedding alone, and its out-of-fold logits for the calibration stage.
    negative_weights, negative_bias = fit_logistic(x, y, EMBEDDING_L2)
    held_out = np.zeros(len(reviews))
    for k in range(FOLDS):
        w, b = fit_logistic(x[fold != k], y[fold != k], EMBEDDING_L2)
        held_out[fold == k] = x[fold == k] @ w + b

    # 2. Calibration: embedding logit + lexicon cues + one offset per language, fitted together.
    signals = [sentiment_signal(r.text, r.language) for r in reviews]
    languages = sorted({r.language for r in reviews})
    stack = np.array([stack_features(float(z), s) for z, s in zip(held_out, signals, strict=True)])
    one_hot = np.array([[float(r.language == code) for code in languages] for r in reviews])
    l2 = np.array([STACK_L2] * len(STACK_FEATURES) + [LANGUAGE_L2] * len(languages))
    weights, stack_bias = fit_logistic(np.hstack([stack, one_hot]), y, l2)
    stack_weights, language_bias = weights[: len(STACK_FEATURES)], weights[len(STACK_FEATURES) :]

    # 3. Category of complaints: softmax regression on the embedding, plus a keyword weight chosen out of fold.
    complaints = [i for i, r in enumerate(reviews) if r.negative]
    labels = np.array([CATEGORIES.index(reviews[i].category) for i in complaints], dtype=np.int64)
    cx, cfold = x[complaints], fold[complaints]
    category_weights, category_bias = fit_softmax(cx, labels, CATEGORY_L2)
    log_probs = np.zeros((len(complaints), len(CATEGORIES)))
    for k in range(FOLDS):
        w, c = fit_softmax(cx[cfold != k], labels[cfold != k], CATEGORY_L2)
        logits = cx[cfold == k] @ w + c
        logits -= logits.max(axis=1, keepdims=True)
        log_probs[cfold == k] = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    keywords = np.array([keyword_features(category_counts(reviews[i].text, reviews[i].language)) for i in complaints])
    accuracy = {kw: float(((log_probs + kw * keywords).argmax(axis=1) == labels).mean()) for kw in KEYWORD_WEIGHTS}
    keyword_weight = max(KEYWORD_WEIGHTS, key=lambda kw: (accuracy[kw], -kw))

    return TextModel(
        negative_weights=negative_weights,
        negative_bias=negative_bias,
        stack_weights=stack_weights,
        stack_bias=stack_bias,
        language_bias=dict(zip(languages, (float(b) for b in language_bias), strict=True)),
        category_weights=category_weights,
        category_bias=category_bias,
        keyword_weight=keyword_weight,
    )


def embed_cached(texts: Sequence[str], cache: Path | None) -> NDArray[np.float32]:
    """Embeddings of `texts`, reusing an .npz cache keyed by text hash (refitting should not re-embed)."""
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest()[:24] for t in texts]
    known: dict[str, NDArray[np.float32]] = {}
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            known = dict(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))
    missing = [t for k, t in zip(keys, texts, strict=True) if k not in known]
    if missing:
        vectors = E5Embedder().embed(missing)
        for text, vector in zip(missing, vectors, strict=True):
            known[hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]] = vector
        if cache is not None:
            np.savez_compressed(cache, keys=np.array(list(known)), vectors=np.array(list(known.values())))
    return np.array([known[k] for k in keys], dtype=np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="directory of labelled *.jsonl files")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE, help="where to write the weights")
    parser.add_argument("--embedding-cache", type=Path, default=None, help="optional .npz cache of embeddings")
    args = parser.parse_args(argv)
    reviews = load_labelled(args.data, split="tune")
    model = fit(reviews, embed_cached([r.text for r in reviews], args.embedding_cache))
    model.save(args.out)
    offsets = ", ".join(f"{code} {bias:+.2f}" for code, bias in sorted(model.language_bias.items()))
    weights = ", ".join(f"{n} {w:+.2f}" for n, w in zip(STACK_FEATURES, model.stack_weights, strict=True))
    sys.stdout.write(
        f"fitted on {len(reviews)} tune reviews -> {args.out}\n  calibration: {weights}\n"
        f"  language offsets: {offsets}\n  keyword weight: {model.keyword_weight}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
