"""Where meaning vectors come from: the `Embedder` protocol, and one that asks an embedding deployment.

An embedder returns one unit-length float32 row per text, so a dot product is the cosine similarity.
Its `name` joins the partition key: vectors from two models are never compared.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
"""Shape (n, d): one unit-length row per text."""

EmbedCall = Callable[[Sequence[str]], Awaitable[Sequence[Sequence[float]]]]
"""Texts in, one vector per text out: how the LLM layer's embedding deployment is called."""


class Embedder(Protocol):
    name: str

    async def embed(self, texts: Sequence[str]) -> Vectors: ...


class DeploymentEmbedder:
    """Embeddings from a configured embedding deployment, through the hub's own LLM layer."""

    def __init__(self, deployment: str, call: EmbedCall) -> None:
        self.name = f"deployment:{deployment}"
        self._call = call

    async def embed(self, texts: Sequence[str]) -> Vectors:
        rows = await self._call(texts)
        if len(rows) != len(texts):
            raise ValueError(f"{self.name} returned {len(rows)} vectors for {len(texts)} texts")
        return unit_rows(np.asarray(rows, dtype=np.float32))


def unit_rows(matrix: Vectors) -> Vectors:
    """Each row scaled to length 1 (a zero row stays zero and matches nothing)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    scaled: Vectors = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return scaled
