"""Cross-implementation interop: the official TypeScript SDK client talks to a hub virtual server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.node


def _run_ts_client(
    node_sdk: Path, kind: str, url: str, key: str, tool: str, args: dict[str, object]
) -> dict[str, object]:
    script = node_sdk / "ts_client.mjs"  # run from the folder whose node_modules has the SDK
    shutil.copy(HERE / "ts_client.mjs", script)
    done = subprocess.run(
        ["node", str(script), kind, url, key, tool, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["streamable-http", "sse"])
def test_typescript_client_lists_and_calls_tools(node_sdk: Path, hub_url: str, agent_key: str, kind: str) -> None:
    path = "mcp" if kind == "streamable-http" else "sse"
    seen = _run_ts_client(
        node_sdk, kind, f"{hub_url}/servers/notes/{path}", agent_key, "add_note", {"title": "t", "text": "x"}
    )
    assert {"add_note", "list_notes", "get_note"} <= set(seen["tools"])  # type: ignore[arg-type]
    result = seen["result"]
    assert isinstance(result, dict)
    assert not result.get("isError")
    assert "t" in result["content"][0]["text"]
    assert seen["server"] == {"name": "hub/notes", "version": "0.1.0"}
    missing = seen["missing"]
    assert isinstance(missing, dict)
    assert missing["code"] == -32602
