"""Prometheus metrics on an injected registry; get-or-create so apps sharing a registry share a metric family."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_M = TypeVar("_M", Counter, Gauge, Histogram)
_families: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Any]] = weakref.WeakKeyDictionary()

# Seconds from a review's observation to its page: most should land within tens of seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


def new_registry() -> CollectorRegistry:
    """A fresh registry: one per app (or one shared by all apps of `stormwatch run`), one per test."""
    return CollectorRegistry(auto_describe=True)


def _family(kind: type[_M], registry: CollectorRegistry, name: str, doc: str, labels: Sequence[str], **kw: Any) -> _M:
    families = _families.setdefault(registry, {})
    existing = families.get(name)
    if existing is not None:
        if not isinstance(existing, kind):
            raise TypeError(f"metric {name} already registered as {type(existing).__name__}")
        return existing
    metric = kind(name, doc, labelnames=tuple(labels), registry=registry, **kw)
    families[name] = metric
    return metric


def counter(registry: CollectorRegistry, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
    return _family(Counter, registry, name, doc, labels)


def gauge(registry: CollectorRegistry, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
    return _family(Gauge, registry, name, doc, labels)


def histogram(
    registry: CollectorRegistry,
    name: str,
    doc: str,
    labels: Sequence[str] = (),
    buckets: Sequence[float] = LATENCY_BUCKETS,
) -> Histogram:
    return _family(Histogram, registry, name, doc, labels, buckets=tuple(buckets))
