"""Viral threads: engagement velocity and a self-exciting (SEISMIC-style) prediction of a thread's final reach.

Reach is the engagements that spread a thread or join it: shares plus replies, from `thread.snapshot` counters and
from reply events (whichever saw more). Every rise of the reach is an arrival of a point process whose intensity is
lambda(t) = p * sum_i phi(t - t_i) with SEISMIC's power-law memory kernel phi (constant for 5 minutes, then
decaying as s^-(1+theta)). The infectiousness p is estimated from the observed history as
p = R_t / sum_i Phi(t - t_i) (Phi the kernel's integral), and the expected future is the remaining kernel mass
times p / (1 - p): predicted final reach = R_t + p * sum_i (1 - Phi(t - t_i)) / (1 - p).
(Zhao et al., "SEISMIC: A Self-Exciting Point Process Model for Predicting Tweet Popularity", KDD 2015; here every
engagement has unit degree, so p is the branching ratio, capped below 1 to keep the estimate finite.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.detector.incident_book import SEVERITY_RANK, OpenIncident, optional_incident
from services.detector.playbook import playbook_for
from services.detector.scoring import ScoredReview
from services.shared.events import Evidence, IncidentEvent, IncidentStatus, SampleItem, Severity

KIND = "viral_thread"
# SEISMIC's kernel: constant for s0 seconds, then a power law with exponent theta (their fitted values).
KERNEL_S0 = 300.0
KERNEL_THETA = 0.242
_KERNEL_C = 1.0 / (KERNEL_S0 * (1.0 + 1.0 / KERNEL_THETA))
# Branching ratio cap: at most 1 / (1 - 0.9) = 10 times the remaining memory is expected to come.
MAX_INFECTIOUSNESS = 0.9
# No prediction below this many observed engagements (or this share of the threshold): ten likes are no storm.
MIN_OBSERVED = 50
MIN_OBSERVED_SHARE = 0.05
# Kernel history per thread: older arrivals are merged pairwise beyond this many (bounded memory, tiny error).
MAX_ARRIVALS = 48
# Reply sentiment: EWMA over replies; friendly below, hostile again above (hysteresis), after enough replies.
SENTIMENT_GAIN = 0.1
FRIENDLY_BELOW = 0.2
HOSTILE_ABOVE = 0.4
MIN_JUDGED_REPLIES = 10
# An open thread incident resolves after this long without growth; a finished thread is forgotten after FORGET.
QUIET_SECONDS = 3 * 3600.0
FORGET_SECONDS = 48 * 3600.0
MAX_THREADS_PER_MERCHANT = 500
# Distinct reply authors are counted exactly up to this many per thread (hashes would do for more).
MAX_AUTHORS = 1000
_GROWTH_FACTOR = 1.5


def kernel_mass(age: float) -> float:
    """Phi(age): the share of an arrival's total influence already spent `age` seconds after it."""
    if age <= 0:
        return 0.0
    if age <= KERNEL_S0:
        return _KERNEL_C * age
    return float(_KERNEL_C * KERNEL_S0 * (1.0 + (1.0 - (age / KERNEL_S0) ** -KERNEL_THETA) / KERNEL_THETA))


def predict_final_reach(created: float, arrivals: list[list[float]], observed: float, now: float) -> float:
    """SEISMIC's estimate: observed plus p * (remaining kernel mass) / (1 - p), the original post included."""
    spent = kernel_mass(now - created)
    remaining = 1.0 - spent
    for at, count in arrivals:
        mass = kernel_mass(now - at)
        spent += count * mass
        remaining += count * (1.0 - mass)
    if spent <= 0:
        return observed
    p = min(observed / spent, MAX_INFECTIOUSNESS)
    return float(observed + p * remaining / (1.0 - p))


@dataclass(slots=True)
class ThreadState:
    platform: str
    created: float
    last_growth: float
    url: str | None = None
    text: str | None = None
    snapshot_shares: int = 0
    snapshot_replies: int = 0
    snapshot_views: int = 0
    reply_events: int = 0
    authors: list[str] = field(default_factory=list)
    reach: int = 0
    arrivals: list[list[float]] = field(default_factory=list)  # [event time, engagements], oldest first
    negativity: float = 0.5  # EWMA of replies' negativity (1 = negative)
    judged: int = 0
    root_negative: bool | None = None
    friendly: bool = False
    incident: OpenIncident | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "created": self.created,
            "last_growth": self.last_growth,
            "url": self.url,
            "text": self.text,
            "snapshot_shares": self.snapshot_shares,
            "snapshot_replies": self.snapshot_replies,
            "snapshot_views": self.snapshot_views,
            "reply_events": self.reply_events,
            "authors": list(self.authors),
            "reach": self.reach,
            "arrivals": [list(a) for a in self.arrivals],
            "negativity": self.negativity,
            "judged": self.judged,
            "root_negative": self.root_negative,
            "friendly": self.friendly,
            "incident": None if self.incident is None else self.incident.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThreadState:
        return cls(
            platform=data["platform"],
            created=float(data["created"]),
            last_growth=float(data["last_growth"]),
            url=data["url"],
            text=data["text"],
            snapshot_shares=data["snapshot_shares"],
            snapshot_replies=data["snapshot_replies"],
            snapshot_views=data["snapshot_views"],
            reply_events=data["reply_events"],
            authors=list(data["authors"]),
            reach=data["reach"],
            arrivals=[[float(a[0]), float(a[1])] for a in data["arrivals"]],
            negativity=float(data["negativity"]),
            judged=data["judged"],
            root_negative=data["root_negative"],
            friendly=data["friendly"],
            incident=optional_incident(data["incident"]),
        )


@dataclass(slots=True)
class ThreadsState:
    threads: dict[str, ThreadState] = field(default_factory=dict)
    next_sweep: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "threads": {key: t.to_dict() for key, t in sorted(self.threads.items())},
            "next_sweep": self.next_sweep,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThreadsState:
        return cls(
            threads={key: ThreadState.from_dict(raw) for key, raw in data["threads"].items()},
            next_sweep=float(data["next_sweep"]),
        )


def thread_key(review: ScoredReview) -> str | None:
    """The thread an event belongs to: snapshots and posts are their own thread, replies name theirs."""
    event = review.event
    if event.event_type == "thread.snapshot":
        return event.thread_id or event.item_id
    if event.event_type != "review.created":
        return None
    if event.thread_id is not None or event.parent_id is not None:
        return event.thread_id or event.parent_id
    if event.kind == "post" or event.engagement is not None:
        return event.item_id
    return None


class ThreadWatcher:
    """One merchant's threads: reach, sentiment of replies, prediction, the viral_thread incidents."""

    def __init__(self, merchant_id: str, merchant_name: str, threshold: float, state: ThreadsState) -> None:
        self.merchant_id = merchant_id
        self.merchant_name = merchant_name
        self.threshold = threshold
        self.state = state

    def observe(self, review: ScoredReview, now: float) -> list[IncidentEvent]:
        """Feed one event (`now` = the merchant's event-time watermark); returns the incident events it causes."""
        incidents = [] if now < self.state.next_sweep else self._sweep(now, review)
        key = thread_key(review)
        if key is None:
            return incidents
        event = review.event
        thread = self.state.threads.get(key)
        if thread is None:
            if len(self.state.threads) >= MAX_THREADS_PER_MERCHANT:
                self._evict_one()
            # A snapshot's created_at is the post's creation; a reply seen first starts the thread at its own time.
            thread = ThreadState(platform=event.platform, created=review.event_time, last_growth=now)
            self.state.threads[key] = thread
        before = thread.reach
        moment = review.observed_time if event.event_type == "thread.snapshot" else review.event_time
        if event.event_type == "thread.snapshot" or key == event.item_id:
            self._root(thread, review)
        else:
            self._reply(thread, review)
        thread.reach = max(
            thread.snapshot_shares + thread.snapshot_replies, thread.snapshot_shares + thread.reply_events
        )
        if thread.reach > before:
            self._arrive(thread, moment, thread.reach - before)
            thread.last_growth = max(thread.last_growth, moment)
        decided = self._decide(key, thread, max(now, moment), review)
        if decided is not None:
            incidents.append(decided)
        return incidents

    def _root(self, thread: ThreadState, review: ScoredReview) -> None:
        event = review.event
        thread.created = min(thread.created, review.event_time)
        thread.url = event.url or thread.url
        text = event.text or event.title
        if text is not None and thread.text is None:
            thread.text = text[:500]
        if review.classification.polarity != "unknown":
            thread.root_negative = review.classification.negative
        engagement = event.engagement
        if engagement is not None:
            thread.snapshot_shares = max(thread.snapshot_shares, engagement.shares or 0)
            thread.snapshot_replies = max(thread.snapshot_replies, engagement.replies or 0)
            thread.snapshot_views = max(thread.snapshot_views, engagement.views or 0)

    def _reply(self, thread: ThreadState, review: ScoredReview) -> None:
        thread.reply_events += 1
        author = review.event.author
        if author is not None and len(thread.authors) < MAX_AUTHORS and author not in thread.authors:
            thread.authors.append(author)
        classification = review.classification
        if classification.polarity == "unknown":
            return
        value = 1.0 if classification.negative else (0.5 if classification.polarity == "neutral" else 0.0)
        if thread.judged == 0:
            thread.negativity = value
        else:
            thread.negativity += SENTIMENT_GAIN * (value - thread.negativity)
        thread.judged += 1

    def _arrive(self, thread: ThreadState, moment: float, count: int) -> None:
        arrivals = thread.arrivals
        arrivals.append([moment, float(count)])
        if len(arrivals) > MAX_ARRIVALS:
            (t1, c1), (t2, c2) = arrivals[0], arrivals[1]
            arrivals[0:2] = [[(t1 * c1 + t2 * c2) / (c1 + c2), c1 + c2]]

    def predicted(self, thread: ThreadState, now: float) -> float:
        return predict_final_reach(thread.created, thread.arrivals, float(thread.reach), now)

    def _decide(  # noqa: PLR0911 - one return per outcome keeps the lifecycle readable
        self, key: str, thread: ThreadState, now: float, review: ScoredReview
    ) -> IncidentEvent | None:
        judged = thread.judged >= MIN_JUDGED_REPLIES
        if judged and thread.negativity < FRIENDLY_BELOW:
            thread.friendly = True
        elif judged and thread.negativity > HOSTILE_ABOVE:
            thread.friendly = False
        incident = thread.incident
        if incident is None:
            if thread.friendly or (thread.root_negative is False and not judged):
                return None
            if thread.reach < max(MIN_OBSERVED, MIN_OBSERVED_SHARE * self.threshold):
                return None
            predicted = self.predicted(thread, now)
            if predicted < self.threshold:
                return None
            thread.incident = OpenIncident.start(
                self.merchant_id,
                "viral_thread",
                key,
                started_at=thread.created,
                detected_at=now,
                severity=self._severity(predicted),
            )
            return self._emit(key, thread, "open", predicted=predicted, now=now, review=review)
        predicted = self.predicted(thread, now)
        if thread.friendly:
            if incident.severity == "info":
                return None
            incident.severity = "info"
            return self._emit(key, thread, "update", predicted=predicted, now=now, review=review)
        # Severity only rises while the thread is hostile: a wobbling prediction is no news, an escalation is.
        severity = self._severity(predicted)
        if incident.severity != "info" and SEVERITY_RANK[severity] < SEVERITY_RANK[incident.severity]:
            severity = incident.severity
        changed = severity != incident.severity
        grew = predicted >= incident.last_value * _GROWTH_FACTOR
        if not (changed or grew):
            return None
        incident.severity = severity
        return self._emit(key, thread, "update", predicted=predicted, now=now, review=review)

    def _severity(self, predicted: float) -> Severity:
        if predicted >= 10 * self.threshold:
            return "critical"
        if predicted >= 3 * self.threshold:
            return "high"
        return "warning"

    def _sweep(self, now: float, review: ScoredReview) -> list[IncidentEvent]:
        """Every few minutes of event time: resolve quiet threads' incidents, forget finished threads."""
        state = self.state
        if now < state.next_sweep:
            return []
        state.next_sweep = now + 300.0
        if not state.threads:
            return []
        incidents = []
        for key in sorted(state.threads):
            thread = state.threads[key]
            idle = now - thread.last_growth
            if thread.incident is not None and idle >= QUIET_SECONDS:
                incidents.append(
                    self._emit(key, thread, "resolved", predicted=float(thread.reach), now=now, review=review)
                )
                thread.incident = None
            if thread.incident is None and idle >= FORGET_SECONDS:
                del state.threads[key]
        return incidents

    def _evict_one(self) -> None:
        idle = [(t.last_growth, key) for key, t in self.state.threads.items() if t.incident is None]
        if idle:
            del self.state.threads[min(idle)[1]]

    def _emit(
        self, key: str, thread: ThreadState, status: IncidentStatus, *, predicted: float, now: float,
        review: ScoredReview,
    ) -> IncidentEvent:  # fmt: skip
        incident = thread.incident
        assert incident is not None
        window = max(int(now - thread.created), 60)
        velocity = sum(c for at, c in thread.arrivals if at > now - 3600.0)
        previous = sum(c for at, c in thread.arrivals if now - 7200.0 < at <= now - 3600.0)
        mood = (
            "unknown"
            if thread.judged == 0
            else f"{100 * thread.negativity:.0f}% negative over {thread.judged} judged replies"
        )
        where = f"{thread.platform} thread {thread.url or key}"
        if status == "resolved":
            title = f"Thread about {self.merchant_name} has calmed down"
        elif thread.friendly:
            title = f"Viral thread about {self.merchant_name} turned friendly"
        else:
            title = f"Thread about {self.merchant_name} is going viral"
        summary = (
            f"{where}: {thread.reach} shares and replies ({thread.snapshot_views} views, "
            f"{len(thread.authors)} distinct reply authors) in {window // 60} min; predicted final reach "
            f"{predicted:,.0f} against a threshold of {self.threshold:,.0f}. Velocity {velocity:.0f}/h "
            f"(acceleration {velocity - previous:+.0f}/h per hour). Replies: {mood}."
        )
        sample = SampleItem(
            item_id=key, platform=thread.platform, url=thread.url, text=thread.text, language=None, rating=None
        )
        evidence = Evidence(
            observed=float(thread.reach),
            expected=float(self.threshold),
            window_seconds=window,
            rate_per_hour=float(velocity),
            predicted_reach=round(predicted, 1),
            sample_items=(sample,),
        )
        return incident.emit(
            status,
            kind="viral_thread",
            merchant_id=self.merchant_id,
            title=title,
            summary=summary,
            evidence=evidence,
            value=predicted,
            at=now,
            observed_at=review.event.observed_at,
            review_created_at=review.event.created_at,
            platform=thread.platform,
            thread_id=key,
            playbook=playbook_for(None),
        )
