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
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "hub_conformance_suite_key_0000000000000"
SUMMARY = re.compile(r"^[✓✗] (?P<scenario>\S+): (?P<passed>\d+) passed, (?P<failed>\d+) failed$", re.MULTILINE)

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.node,
    pytest.mark.skipif(shutil.which("npx") is None, reason="needs Node.js 20+ and npm"),
]


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
def test_hub_passes_what_the_upstream_passes(
    tmp_path: Path, upstream_protocol: str, serve_process: Callable[..., AbstractContextManager[str]]
) -> None:
    everything = str(ROOT / "examples" / "servers" / "everything.py")
    with serve_process(everything, "--transport", "streamable-http", "--host", "127.0.0.1", "--port", "0") as upstream:
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
        proxy_script = str(Path(__file__).with_name("auth_proxy.py"))
        with (
            serve_process(
                "-m", "hub.cli", "serve", "--config", str(config), "--port", "0", cwd=tmp_path, ready=True
            ) as hub,
            serve_process(proxy_script, "--target", hub, "--key", KEY) as proxy,
        ):
            direct_rc, direct, direct_tail = _run_suite(upstream)
            hub_rc, through_hub, hub_tail = _run_suite(f"{proxy}/servers/everything/mcp")

    assert direct, f"no scenario summary from the direct run:\n{direct_tail}"
    assert set(through_hub) == set(direct), f"scenarios differ:\n{hub_tail}"
    passed_direct = {name for name, (_, failed) in direct.items() if not failed}
    passed_hub = {name for name, (_, failed) in through_hub.items() if not failed}
    assert passed_direct - passed_hub == set(), f"fail only through the hub:\n{hub_tail}"
    assert direct_rc == hub_rc == 0, f"direct exit {direct_rc}, through the hub {hub_rc}:\n{hub_tail}"
