"""The official MCP conformance suite, run against examples/servers/everything.py.

Starts the server as a real subprocess, runs `scripts/conformance.sh` against it with the
documented baseline, and checks both the script's exit status and its per-scenario summary.
Needs Node.js 20+ and npm; the first run installs the suite into `.cache/conformance/`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import anyio
import pytest
import yaml
from anyio.abc import Process

HttpServerStarter = Callable[..., AbstractAsyncContextManager[str]]
ProcessStopper = Callable[[Process], Awaitable[None]]

SUITE_TIMEOUT = 600.0
"""Seconds for the whole suite, including a first-time `npm install` of the package."""

SUMMARY_LINE = re.compile(r"^[✓✗] (?P<scenario>\S+): (?P<passed>\d+) passed, (?P<failed>\d+) failed$", re.MULTILINE)


def expected_failures(example_servers: Path) -> set[str]:
    document = yaml.safe_load((example_servers / "conformance-baseline.yml").read_text())
    return {str(name) for name in document.get("server") or []}


async def run_suite(script: Path, url: str, baseline: Path, stop_process: ProcessStopper) -> tuple[int, str]:
    """Run the conformance script in its own process group; return its exit status and output."""
    process = await anyio.open_process(
        ["bash", str(script), url, "--expected-failures", str(baseline)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    output = bytearray()
    try:
        assert process.stdout is not None
        with anyio.fail_after(SUITE_TIMEOUT):
            async for chunk in process.stdout:
                output += chunk
            returncode = await process.wait()
    finally:
        await stop_process(process)
        await process.aclose()
    return returncode, output.decode(errors="replace")


@pytest.mark.conformance
@pytest.mark.node
@pytest.mark.anyio
@pytest.mark.skipif(shutil.which("npx") is None, reason="needs Node.js 20+ and npm")
async def test_everything_server_passes_the_conformance_suite(
    example_servers: Path, start_http_server: HttpServerStarter, stop_process: ProcessStopper
) -> None:
    script = example_servers.parents[1] / "scripts" / "conformance.sh"
    baseline = example_servers / "conformance-baseline.yml"
    async with start_http_server("everything.py", "--transport", "streamable-http", "--host", "127.0.0.1") as url:
        returncode, output = await run_suite(script, url, baseline, stop_process)

    tail = "\n".join(output.splitlines()[-60:])
    results = {m["scenario"]: (int(m["passed"]), int(m["failed"])) for m in SUMMARY_LINE.finditer(output)}
    assert results, f"no scenario summary in the suite's output:\n{tail}"
    allowed = expected_failures(example_servers)
    unexpected = {name: counts for name, counts in results.items() if counts[1] and name not in allowed}
    assert not unexpected, f"scenarios failed: {unexpected}\n{tail}"
    # Exit status 0 also means: no warning outside the baseline, and no baseline entry that now passes.
    assert returncode == 0, f"conformance.sh exited {returncode}:\n{tail}"


@pytest.mark.conformance
def test_every_expected_failure_is_explained(example_servers: Path) -> None:
    explained = (example_servers / "CONFORMANCE.md").read_text()
    for scenario in expected_failures(example_servers):
        assert f"`{scenario}`" in explained, f"{scenario} is in the baseline but not explained in CONFORMANCE.md"
