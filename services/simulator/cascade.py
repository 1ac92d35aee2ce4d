"""Viral cascades: a thread's shares and replies as a self-exciting (Hawkes) branching process, deterministic by seed.

Every engagement (a share or a reply) excites more: the post itself draws `immigrants` direct engagements, each of
which draws Poisson(branching) children after a heavy-tailed (Lomax) delay, and so on. Such a cascade grows fast
at first and then slows down as its memory fades, the way real viral posts do. Time is scaled so that the
scenario's target (e.g. ~14,000 shares after 24 h) is reached when asked; the shape is the process's own.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.simulator.scenario import CascadeSpec, MerchantProfile, Scenario
from services.simulator.texts import compose, consumer_name
from services.simulator.timeline import SimReview

# The kernel's tail: Lomax (Pareto II) delays with this shape, heavy enough for a long, slow tail.
DELAY_SHAPE = 1.5
# More immigrants than the target needs: the process's own tail keeps going after `hours`.
OVERSHOOT = 1.25
# Share of replies that answer an earlier reply rather than the thread's root.
NESTED_SHARE = 0.3
# Reactions (likes) per engagement that spreads or joins the thread.
REACTIONS_PER_ENGAGEMENT = 0.8


@dataclass(frozen=True, slots=True)
class Counters:
    shares: int
    replies: int
    views: int
    reactions: int


@dataclass(frozen=True)
class Cascade:
    """One viral thread: the root's creation, each share's time, each reply (as a review of the platform)."""

    spec: CascadeSpec
    index: int
    merchant_id: str
    created_at: datetime
    author: str
    share_offsets: tuple[float, ...]  # seconds after created_at, sorted
    replies: tuple[SimReview, ...]  # sorted by created_at; ids are placeholders the platform replaces
    parents: tuple[int | None, ...]  # per reply: the index of the reply it answers, None for the root

    def counters(self, now: datetime) -> Counters:
        """The thread's public counters at `now` (zero before it exists)."""
        elapsed = (now - self.created_at).total_seconds()
        if elapsed < 0:
            return Counters(0, 0, 0, 0)
        shares = bisect.bisect_right(self.share_offsets, elapsed)
        replies = sum(1 for _ in self.replies_until(now))
        engagements = shares + replies
        target = max(1, self.spec.shares + self.spec.replies)
        views = round(self.spec.views * engagements / target) + (1 if self.spec.views else 0)
        return Counters(shares, replies, views, round(engagements * REACTIONS_PER_ENGAGEMENT))

    def replies_until(self, now: datetime) -> list[SimReview]:
        times = [r.created_at for r in self.replies]
        return list(self.replies[: bisect.bisect_right(times, now)])


def engagement_offsets(rng: random.Random, target: int, branching: float, horizon_seconds: float) -> list[float]:
    """Arrival times (seconds, sorted) of a branching cascade whose `target`-th engagement lands at the horizon."""
    if target <= 0:
        return []
    branching = min(max(branching, 0.0), 0.99)
    immigrants = max(1, math.ceil(target * (1.0 - branching) * OVERSHOOT))
    limit = math.ceil(target * OVERSHOOT * 3) + 100  # bounds the work whatever the draw
    pending = [_delay(rng) for _ in range(immigrants)]
    times: list[float] = []
    while pending and len(times) < limit:
        moment = pending.pop()
        times.append(moment)
        pending.extend(moment + _delay(rng) for _ in range(_poisson(rng, branching)))
    times.sort()
    pivot = times[min(target, len(times)) - 1]
    scale = horizon_seconds / pivot if pivot > 0 else 1.0
    return [t * scale for t in times]


def generate_cascade(scenario: Scenario, merchant: MerchantProfile, index: int) -> Cascade | None:
    """The merchant's `index`-th cascade, cut at the scenario's end; None when it starts outside the scenario."""
    spec = merchant.cascades[index]
    created = (scenario.origin + timedelta(seconds=spec.start_offset_seconds)).replace(microsecond=0)
    if not scenario.start <= created < scenario.end:
        return None
    rng = random.Random(f"{scenario.seed}:{merchant.id}:cascade:{index}")  # noqa: S311 - simulation
    offsets = engagement_offsets(rng, spec.shares + spec.replies, spec.branching, spec.hours * 3600.0)
    cut = (scenario.end - created).total_seconds()
    reply_share = spec.replies / max(1, spec.shares + spec.replies)
    shares: list[float] = []
    replies: list[SimReview] = []
    parents: list[int | None] = []
    for offset in offsets:
        if offset > cut:
            break
        if rng.random() >= reply_share:
            shares.append(offset)
            continue
        nested = replies and rng.random() < NESTED_SHARE
        parents.append(rng.randrange(len(replies)) if nested else None)
        replies.append(_reply(rng, scenario, merchant, spec, at=created + timedelta(seconds=offset), n=len(replies)))
    author, _ = consumer_name(rng, spec.language)
    return Cascade(spec, index, merchant.id, created, author, tuple(shares), tuple(replies), tuple(parents))


def merchant_cascades(scenario: Scenario, merchant: MerchantProfile, platform: str) -> list[Cascade]:
    """The merchant's cascades on one platform that start within the scenario."""
    found = []
    for index, spec in enumerate(merchant.cascades):
        if spec.platform == platform:
            cascade = generate_cascade(scenario, merchant, index)
            if cascade is not None:
                found.append(cascade)
    return found


def _reply(
    rng: random.Random, scenario: Scenario, merchant: MerchantProfile, spec: CascadeSpec, *, at: datetime, n: int
) -> SimReview:
    names, weights = zip(*merchant.languages, strict=True)
    # Most join in the root's language; the rest in the merchant's usual mix.
    language = spec.language if rng.random() < 0.7 else rng.choices(names, weights)[0]
    stars = 1 if rng.random() < 0.8 else 2
    text = compose(rng, language, stars, spec.reply_category)
    name, location = consumer_name(rng, language)
    return SimReview(
        merchant_id=merchant.id,
        business_unit_id=merchant.trustpilot.business_unit_id,
        id=f"cascade-{scenario.seed}-{n}",
        stars=stars,
        title=text.title,
        text=text.text,
        language=language,
        consumer_id=f"{rng.getrandbits(64):016x}",
        consumer_name=name,
        consumer_location=location,
        consumer_review_count=1,
        created_at=at.replace(microsecond=0),
        category=spec.reply_category,
        storm=True,
        reference_id=None,
        verified=False,
        likes=int(rng.expovariate(0.5)),
        malformed=None,
        platform=spec.platform,
    )


def _delay(rng: random.Random) -> float:
    return rng.paretovariate(DELAY_SHAPE) - 1.0


def _poisson(rng: random.Random, mean: float) -> int:
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
