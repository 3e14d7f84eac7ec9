"""A real `hub serve` process, and the official TypeScript SDK installed from npm, for interop tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

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
def hub_url(
    tmp_path_factory: pytest.TempPathFactory, serve_process: Callable[..., AbstractContextManager[str]]
) -> Iterator[str]:
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
    args = ("-m", "hub.cli", "serve", "--config", str(config), "--port", "0")
    with serve_process(*args, cwd=tmp, ready=True) as url:
        yield url
