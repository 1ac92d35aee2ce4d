"""Synthetic review streams in event time (steady traffic, storms, sale days) for tests, benchmarks and backtests."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.shared.events import RatingScale, ReviewEvent, deterministic_id
from services.shared.timeutil import format_rfc3339

STARS = RatingScale(1.0, 5.0)


@dataclass(frozen=True)
class Segment:
    """Reviews arriving as a Poisson process: `per_hour` on average, a `negative_share` of them 1-2 stars."""

    start: datetime
    hours: float
    per_hour: float
    negative_share: float


def generate(
    segments: Iterable[Segment],
    *,
    merchant_id: str = "m1",
    platform: str = "trustpilot",
    seed: int = 1,
    observed_delay_seconds: float = 30.0,
) -> list[ReviewEvent]:
    """Overlay the segments into one stream ordered by created_at. The same arguments give the same events."""
    rng = random.Random(f"{merchant_id}:{seed}")  # noqa: S311 - reproducible test data, not secrets
    timed: list[tuple[datetime, bool]] = []
    for segment in segments:
        end = segment.start + timedelta(hours=segment.hours)
        moment = segment.start
        while True:
            moment += timedelta(seconds=rng.expovariate(segment.per_hour / 3600.0))
            if moment >= end:
                break
            timed.append((moment.replace(microsecond=0), rng.random() < segment.negative_share))
    timed.sort(key=lambda pair: pair[0])
    events = []
    for index, (created, negative) in enumerate(timed):
        rating = rng.choice((1.0, 2.0)) if negative else rng.choice((3.0, 4.0, 5.0, 5.0, 5.0))
        events.append(
            review_event(
                merchant_id=merchant_id,
                platform=platform,
                item_id=f"{merchant_id}-{seed}-{index}",
                created=created,
                observed=created + timedelta(seconds=observed_delay_seconds),
                rating=rating,
                text="Parcel never arrived and nobody answers." if negative else "Fine, thanks.",
            )
        )
    return events


def review_event(
    *,
    merchant_id: str,
    item_id: str,
    created: datetime,
    observed: datetime | None = None,
    rating: float | None,
    platform: str = "trustpilot",
    text: str | None = None,
    language: str | None = "en",
) -> ReviewEvent:
    """One `review.created` event with a deterministic id, as a poller would publish it."""
    return ReviewEvent(
        event_id=deterministic_id(platform, item_id, "review.created"),
        event_type="review.created",
        merchant_id=merchant_id,
        platform=platform,
        source_id=f"{merchant_id}/{platform}",
        item_id=item_id,
        kind="review",
        created_at=format_rfc3339(created),
        observed_at=format_rfc3339(observed or created),
        rating=rating,
        rating_scale=None if rating is None else STARS,
        text=text,
        language=language,
        url=f"https://reviews.example/{platform}/{item_id}",
    )


def bucketed(
    counts: Sequence[tuple[int, int]],
    *,
    start: datetime,
    bucket_seconds: int = 900,
    merchant_id: str = "m1",
    platform: str = "trustpilot",
    prefix: str = "b",
) -> list[ReviewEvent]:
    """Exact counts per bucket: (negatives, others) spread evenly over each bucket, negatives interleaved."""
    events = []
    for index, (negatives, others) in enumerate(counts):
        size = negatives + others
        bucket_start = start + timedelta(seconds=index * bucket_seconds)
        for j in range(size):
            # Item j is negative when the running share of negatives steps up: an even spread, no randomness.
            negative = (j + 1) * negatives // size > j * negatives // size
            created = bucket_start + timedelta(seconds=(j + 0.5) * bucket_seconds / size)
            events.append(
                review_event(
                    merchant_id=merchant_id,
                    platform=platform,
                    item_id=f"{merchant_id}-{prefix}{index}-{j}",
                    created=created.replace(microsecond=0),
                    observed=created.replace(microsecond=0) + timedelta(seconds=20),
                    rating=1.0 if negative else 5.0,
                    text="Still waiting for my order." if negative else "Great.",
                )
            )
    return events
