"""`hub serve`'s run-time setup that is not the app itself."""

from __future__ import annotations

import asyncio

import pytest
import sniffio

from hub.serve import asyncio_named


def test_the_event_loop_is_named_to_sniffio_while_serving_and_only_then() -> None:
    async def ask_from_a_plain_loop() -> str:
        return sniffio.current_async_library()

    with asyncio_named():
        assert sniffio.thread_local.name == "asyncio"
        assert asyncio.run(ask_from_a_plain_loop()) == "asyncio"
    assert sniffio.thread_local.name is None
    with pytest.raises(sniffio.AsyncLibraryNotFoundError):
        sniffio.current_async_library()  # outside any loop, as before
