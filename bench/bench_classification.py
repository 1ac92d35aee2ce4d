"""Classification figures for BENCHMARKS.md: accuracy per language (EVAL split), model speed, the demo's model share.

Run: `.venv/bin/python -m bench.bench_classification` (one model thread; medians of --repeats runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from services.detector.classification.classifier import ReviewClassifier
from services.detector.classification.embedder import E5Embedder
from services.detector.classification.evaluation import LabelledReview, load_labelled, macro_f1, score_by_language
from services.detector.classification.inputs import input_from_event
from services.detector.classification.lexicon import keyword_category, sentiment_signal
from services.detector.classification.model import TextModel
from services.detector.classification.types import LANGUAGES, Classification, ClassificationInput
from services.shared.events import ReviewEvent


class FixedEmbedder:
    """Embeddings computed once up front, so accuracy ablations do not re-run the model."""

    def __init__(self, vectors: dict[str, NDArray[np.float32]]) -> None:
        self.vectors = vectors

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.array([self.vectors[t] for t in texts], dtype=np.float32)


def timed(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (this process) of `work`."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def accuracy(reviews: list[LabelledReview], vectors: dict[str, NDArray[np.float32]]) -> None:
    classifier = ReviewClassifier(embedder=FixedEmbedder(vectors))
    results = classifier.classify_many_sync([ClassificationInput(text=r.text) for r in reviews])
    scores = score_by_language(reviews, results)
    model = TextModel.load()
    print("| language | eval texts | negativity macro-F1 | embedding only | lexicon only | complaints "
          "| category accuracy | keywords only | language ID |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for language in LANGUAGES:
        subset = [r for r in reviews if r.language == language]
        truth = [r.negative for r in subset]
        logits = model.embedding_logits(np.array([vectors[r.text] for r in subset]))
        embedding_only = macro_f1(truth, [bool(z >= 0) for z in logits])
        signals = [sentiment_signal(r.text, language) for r in subset]
        lexicon_only = macro_f1(truth, [s.negative + s.sarcasm > s.positive for s in signals])
        complaints = [r for r in subset if r.negative]
        keywords = sum((keyword_category(r.text, language) or "other") == r.category for r in complaints)
        s = scores[language]
        print(f"| {language} | {s.texts} | **{s.macro_f1:.3f}** | {embedding_only:.3f} | {lexicon_only:.3f} | "
              f"{s.complaints} | **{s.category_accuracy:.3f}** | {keywords / len(complaints):.3f} | "
              f"{s.language_accuracy:.3f} |")  # fmt: skip


def long_reviews(texts: Sequence[str], count: int = 30, length: int = 300) -> list[str]:
    """Review-length texts (about `length` characters; CJK about a third of that) made of consecutive eval texts."""
    result: list[str] = []
    index = 0
    target = length // 3 if any("\u3040" <= ch <= "\u9fff" for ch in texts[0]) else length
    while len(result) < count:
        parts: list[str] = []
        while sum(map(len, parts)) < target:
            parts.append(texts[index % len(texts)])
            index += 1
        result.append(" ".join(parts))
    return result


def speed(reviews: list[LabelledReview], repeats: int) -> None:
    embedder = E5Embedder(threads=1)
    embedder.embed(["warm-up"])
    print("| language | texts/s, eval texts (wall) | per CPU-second | mean chars | texts/s, long reviews (wall) "
          "| per CPU-second | mean chars |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for language in LANGUAGES:
        short = [r.text for r in reviews if r.language == language]
        row = [language]
        for texts in (short, long_reviews(short)):
            wall, cpu = timed(lambda texts=texts: embedder.embed(texts), repeats)  # type: ignore[misc]
            row += [f"{len(texts) / wall:.1f}", f"{len(texts) / cpu:.1f}", f"{sum(map(len, texts)) / len(texts):.0f}"]
        print(f"| {' | '.join(row)} |")
    texts = [r.text for r in reviews]

    def cold() -> None:
        ReviewClassifier(embedder=embedder).classify_many_sync([ClassificationInput(text=t) for t in texts])

    wall, cpu = timed(cold, 1)
    print(f"\nWhole classifier, text path, cold cache, all {len(texts)} eval texts: {len(texts) / wall:.1f} texts/s "
          f"wall, {len(texts) / cpu:.1f} per CPU-second.")  # fmt: skip


def demo_events() -> list[ReviewEvent]:
    """The demo scenario's reviews as the Trustpilot poller would publish them."""
    from services.detector.synthetic import review_event
    from services.simulator.scenario import demo_scenario
    from services.simulator.timeline import generate_timeline

    timeline = generate_timeline(demo_scenario())
    events = []
    for merchant in timeline.merchant_ids:
        for review in timeline.all(merchant):
            event = review_event(
                merchant_id=merchant,
                item_id=review.id,
                created=review.created_at,
                observed=review.created_at + timedelta(seconds=30),
                rating=float(review.stars),
                text=f"{review.title}. {review.text}",
                language=review.language,
            )
            events.append(event)
    return sorted(events, key=lambda e: e.created_at)


def demo(repeats: int) -> None:
    from services.detector import negativity
    from services.detector.engine import DetectionEngine
    from services.shared.config import DetectionConfig

    events = demo_events()
    items = [input_from_event(e) for e in events]
    embedder = E5Embedder(threads=1)
    embedder.embed(["warm-up"])
    results: list[Classification] = []

    def classify() -> None:
        classifier = ReviewClassifier(embedder=embedder)
        results[:] = classifier.classify_many_sync(items)
        classify.stats = classifier.stats  # type: ignore[attr-defined]

    wall, cpu = timed(classify, repeats)
    stats = classify.stats  # type: ignore[attr-defined]
    print(f"Demo scenario: {len(events)} review events; {stats.needed_model} ({stats.needed_model / len(events):.1%}) "
          f"needed the text model, {stats.embedded} distinct texts embedded (the simulator's templated texts "
          f"repeat); classification {len(events) / wall:.0f} events/s wall, {len(events) / cpu:.0f} per CPU-second "
          f"(cold cache).")  # fmt: skip
    unique = [ClassificationInput(f"{i.text} #{n}", i.rating, i.language, i.hints) for n, i in enumerate(items)]
    wall, cpu = timed(lambda: ReviewClassifier(embedder=embedder).classify_many_sync(unique), repeats)
    print(f"Same events with every text made unique (no cache or batch deduplication): {len(events) / wall:.0f} "
          f"events/s wall, {len(events) / cpu:.0f} per CPU-second.")  # fmt: skip

    by_id = {e.event_id: r for e, r in zip(events, results, strict=True)}

    class Precomputed:
        """The detector's Classifier seam fed from the batch results (how the lead wires the batch API)."""

        def classify(self, event: ReviewEvent) -> negativity.Classification:
            r = by_id[event.event_id]
            return negativity.Classification(r.negativity, r.negative, r.polarity, r.category, r.language)

    def detect_with() -> None:
        classify()
        DetectionEngine(DetectionConfig(), classifier=Precomputed()).run(events)

    def detect_rating_only() -> None:
        DetectionEngine(DetectionConfig()).run(events)

    wall, cpu = timed(detect_with, repeats)
    base_wall, _ = timed(detect_rating_only, repeats)
    print(f"Detection engine (in-process, no Kafka/PostgreSQL) with classification on: {len(events) / wall:.0f} "
          f"events/s wall ({len(events) / cpu:.0f} per CPU-second); with the rating-only classifier: "
          f"{len(events) / base_wall:.0f} events/s.")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    reviews = load_labelled(split="eval")
    started = time.perf_counter()
    texts = sorted({r.text for r in reviews})
    vectors = dict(zip(texts, E5Embedder(threads=1).embed(texts), strict=True))
    print(f"## Accuracy (EVAL split, text only, language detected; embedded in {time.perf_counter() - started:.0f}s)\n")
    accuracy(reviews, vectors)
    if not args.skip_speed:
        print("\n## Text model speed (1 thread)\n")
        speed(reviews, args.repeats)
    print("\n## Demo and detector\n")
    demo(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
