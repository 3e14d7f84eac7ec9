"""Where meaning vectors come from: the `Embedder` protocol, and one that asks an embedding deployment.

An embedder returns one unit-length float32 row per text, so a dot product is the cosine similarity.
Its `name` joins the partition key: vectors from two models are never compared. `requester` is whose
request needs the vectors: an embedding deployment's tokens are charged to it (a local model costs
nothing). `warm` readies the embedder before the first request (loads a local model); `state` says
how far that got.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from hub.llm.cache.request import CacheScope

Vectors = npt.NDArray[np.float32]
"""Shape (n, d): one unit-length row per text."""

EmbedCall = Callable[[Sequence[str], CacheScope | None], Awaitable[Sequence[Sequence[float]]]]
"""Texts and their requester in, one vector per text out: how the LLM layer's embedding deployment is called."""

EmbedderState = Literal["idle", "loading", "ready", "failed"]


class Embedder(Protocol):
    name: str

    @property
    def state(self) -> EmbedderState: ...

    async def embed(self, texts: Sequence[str], requester: CacheScope | None = None) -> Vectors: ...

    async def warm(self) -> None:
        """Get ready to embed (load a model); never raises: a failure shows in `state` and the log."""
        ...


class DeploymentEmbedder:
    """Embeddings from a configured embedding deployment, through the hub's own LLM layer."""

    def __init__(self, deployment: str, call: EmbedCall) -> None:
        self.name = f"deployment:{deployment}"
        self._call = call

    @property
    def state(self) -> EmbedderState:
        return "ready"  # a remote deployment: nothing to load

    async def warm(self) -> None:
        return None

    async def embed(self, texts: Sequence[str], requester: CacheScope | None = None) -> Vectors:
        rows = await self._call(texts, requester)
        if len(rows) != len(texts):
            raise ValueError(f"{self.name} returned {len(rows)} vectors for {len(texts)} texts")
        return unit_rows(np.asarray(rows, dtype=np.float32))


def unit_rows(matrix: Vectors) -> Vectors:
    """Each row scaled to length 1 (a zero row stays zero and matches nothing)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    scaled: Vectors = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return scaled
