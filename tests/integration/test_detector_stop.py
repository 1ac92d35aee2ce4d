"""A detector stop does not wait for work it can leave to a restart: a batch still in the text model is dropped
(nothing of it was sent or stored) and read again after a restart, so nothing is lost; a poll waiting for the
consumer group's join ends at once."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
import numpy as np
from numpy.typing import NDArray

from services.detector.app import DetectorApp
from services.detector.classification.classifier import ReviewClassifier
from services.detector.classification.embedder import E5Embedder
from services.detector.synthetic import bucketed
from services.detector.text_classifier import TextAwareClassifier
from services.shared import metrics
from services.shared.events import ReviewEvent
from services.shared.http import HttpServer
from services.shared.settings import Settings
from tests.integration.test_detector_app import CONFIG, eventually, keyed, produce

T0 = datetime(2026, 11, 18, tzinfo=UTC)
TEXTS = 40
CHUNK = 4  # texts per model call: 10 calls for the batch


class GatedEmbedder:
    """The real model, but each call waits for the test to open the gate; counts the calls that started."""

    def __init__(self) -> None:
        self._model = E5Embedder()
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls += 1
        self.entered.set()
        if not self.gate.wait(timeout=60):
            raise RuntimeError("the test never opened the gate")
        return self._model.embed(texts)


def three_star_reviews() -> list[ReviewEvent]:
    """Reviews the rating cannot decide, each with its own text: every one goes to the model."""
    base = bucketed([(0, TEXTS)], start=T0)
    return [
        dataclasses.replace(event, rating=3, language="en", text=f"It was fine I guess, order number {i} came late")
        for i, event in enumerate(base)
    ]


async def test_a_stop_during_the_model_stage_drops_the_batch_and_a_restart_reads_it_again(
    test_settings: Settings, db_pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    events = three_star_reviews()
    await produce(kafka_bootstrap, test_settings.topics.reviews, keyed(events))
    embedder = GatedEmbedder()
    classifier = TextAwareClassifier(ReviewClassifier(embedder=embedder, batch_size=CHUNK))
    registry = metrics.new_registry()
    app = DetectorApp(
        test_settings, CONFIG, registry=registry, http=HttpServer(registry, port=0), serve_http=False,
        text_classifier=classifier,
    )  # fmt: skip
    await app.start()
    try:
        assert await asyncio.to_thread(embedder.entered.wait, 30), "the batch never reached the text model"
        stopping = asyncio.ensure_future(app.stop())
        await asyncio.sleep(0.2)  # the stop request reaches the batch while the model still holds chunk 1
        embedder.gate.set()  # from here every model call would go through at once: only dropping stops them
        await stopping
    finally:
        embedder.gate.set()
        await app.stop()

    # Chunk 1 was in the model's thread and finishes; no other chunk started, and nothing was stored or sent.
    assert embedder.calls == 1
    assert await db_pool.fetchval("SELECT count(*) FROM reviews") == 0
    assert await db_pool.fetchval("SELECT count(*) FROM detector_checkpoints") == 0

    restarted = DetectorApp(
        test_settings, CONFIG, registry=metrics.new_registry(), http=HttpServer(registry, port=0), serve_http=False
    )
    async with restarted:

        async def all_stored() -> bool:
            stored: int = await db_pool.fetchval("SELECT count(*) FROM reviews")
            return stored == len(events)

        await eventually(all_stored, "the dropped batch was read again and stored")
    offsets: int = await db_pool.fetchval("SELECT coalesce(sum(next_offset), 0) FROM detector_checkpoints")
    assert offsets == len(events)


async def test_a_stop_during_the_group_join_ends_the_consume_loop_without_waiting_for_it(
    test_settings: Settings,
) -> None:
    """Stopped while its consumer is still joining the group (aiokafka's poll ignores its timeout meanwhile; on
    Tansu about half the session timeout), the consume loop ends through its stop flag before the join is done."""
    registry = metrics.new_registry()
    app = DetectorApp(test_settings, CONFIG, registry=registry, http=HttpServer(registry, port=0), serve_http=False)
    await app.start()
    try:
        consumer, loop = app._consumer, app._consume_task
        assert consumer is not None and loop is not None
        await asyncio.sleep(0.2)  # let the loop's poll reach aiokafka's wait for the assignment
        assert not loop.done()
        assert consumer.assignment() == set()  # still joining: the loop's poll waits for the join
        await app._before_stop()
        await asyncio.wait((loop,))
        assert not loop.cancelled() and loop.exception() is None
        assert consumer.assignment() == set(), "the consume loop ended only after the join"
    finally:
        await app.stop()
