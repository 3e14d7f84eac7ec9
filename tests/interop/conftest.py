"""A real `hub serve` process, and the official TypeScript SDK installed from npm, for interop tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / ".cache" / "node"
TS_SDK = "@modelcontextprotocol/sdk@1.32.2"
KEY = "hub_interop_test_key_0123456789abcdef"


@pytest.fixture(scope="session")
def agent_key() -> str:
    return KEY


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    """The folder holding node_modules with the TypeScript SDK (installed from npm on first use)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the TypeScript interop test")
    if not (NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json").exists():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        if not (NODE_DIR / "package.json").exists():
            (NODE_DIR / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", TS_SDK], cwd=NODE_DIR, check=True, timeout=300)
    return NODE_DIR


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hub serve` on a free port, fronting the notes example over stdio; yields its base URL."""
    tmp = tmp_path_factory.mktemp("hub")
    config = tmp / "hub.yaml"
    config.write_text(
        f"""
storage: {{url: "sqlite+aiosqlite:///{tmp}/hub.db"}}
upstreams:
  - {{name: notes, kind: stdio, command: "{sys.executable}", args: ["{ROOT}/examples/servers/notes.py"]}}
virtual_servers:
  - {{name: notes, include: [{{upstream: notes}}]}}
agents:
  - {{name: ts-agent, keys: [{{key: "{KEY}"}}], servers: [{{server: notes}}]}}
"""
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=tmp,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the process prints LISTENING <url> once its socket is bound
        assert first.startswith("LISTENING "), f"hub did not start: {first!r}"
        url = first.split()[1]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # bounded: wait until the stdio upstream is ready
            try:
                if httpx2.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("hub did not become ready within 20 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
