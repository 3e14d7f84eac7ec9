"""The official MCP conformance suite, through the hub: it must pass what the upstream passes directly.

examples/servers/everything.py is the conformant upstream; the hub fronts it as a virtual server
with no renames. The suite's client cannot send an Authorization header, so it reaches the hub
through tests/conformance/auth_proxy.py, which adds one agent's key: the hub's own authentication
is not loosened for the test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "hub_conformance_suite_key_0000000000000"
SUMMARY = re.compile(r"^[✓✗] (?P<scenario>\S+): (?P<passed>\d+) passed, (?P<failed>\d+) failed$", re.MULTILINE)

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.node,
    pytest.mark.skipif(shutil.which("npx") is None, reason="needs Node.js 20+ and npm"),
]


@contextmanager
def _process(*args: str, cwd: Path | None = None) -> Iterator[str]:
    """Run a server that prints 'LISTENING <url>' first; yield the URL; kill its process group after."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=cwd,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("LISTENING "), f"{args[0]} did not start: {line!r}"
        yield line.split()[1]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_ready(base_url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"hub at {base_url} was not ready within 20 s")


def _run_suite(url: str) -> tuple[int, dict[str, tuple[int, int]], str]:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "conformance.sh"), url],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    output = done.stdout + done.stderr
    results = {m["scenario"]: (int(m["passed"]), int(m["failed"])) for m in SUMMARY.finditer(output)}
    return done.returncode, results, "\n".join(output.splitlines()[-40:])


@pytest.mark.parametrize("upstream_protocol", ["legacy", "auto"])
def test_hub_passes_what_the_upstream_passes(tmp_path: Path, upstream_protocol: str) -> None:
    everything = str(ROOT / "examples" / "servers" / "everything.py")
    with _process(everything, "--transport", "streamable-http", "--host", "127.0.0.1", "--port", "0") as upstream:
        config = tmp_path / "hub.yaml"
        config.write_text(
            f"""
storage: {{url: "sqlite+aiosqlite:///{tmp_path}/hub.db"}}
upstreams:
  - {{name: everything, kind: streamable-http, url: "{upstream}", protocol: {upstream_protocol}}}
virtual_servers:
  - {{name: everything, prefix: never, include: [{{upstream: everything}}]}}
agents:
  - {{name: suite, keys: [{{key: "{KEY}"}}], servers: [{{server: everything}}]}}
"""
        )
        with (
            _process("-m", "hub.cli", "serve", "--config", str(config), "--port", "0", cwd=tmp_path) as hub,
            _process(str(Path(__file__).with_name("auth_proxy.py")), "--target", hub, "--key", KEY) as proxy,
        ):
            _wait_ready(hub)
            direct_rc, direct, direct_tail = _run_suite(upstream)
            hub_rc, through_hub, hub_tail = _run_suite(f"{proxy}/servers/everything/mcp")

    assert direct, f"no scenario summary from the direct run:\n{direct_tail}"
    assert set(through_hub) == set(direct), f"scenarios differ:\n{hub_tail}"
    passed_direct = {name for name, (_, failed) in direct.items() if not failed}
    passed_hub = {name for name, (_, failed) in through_hub.items() if not failed}
    assert passed_direct - passed_hub == set(), f"fail only through the hub:\n{hub_tail}"
    assert direct_rc == hub_rc == 0, f"direct exit {direct_rc}, through the hub {hub_rc}:\n{hub_tail}"
