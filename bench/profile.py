"""Where the hub's time goes under load: py-spy samples the hub process, this sums the stacks.

    python -m bench profile --seconds 10 --concurrency 16

Writes .cache/bench/hub-profile.txt (collapsed stacks: open in https://speedscope.app or feed to
flamegraph.pl) and prints the share of samples by library (self time), and the functions with the
largest inclusive and self shares. Needs `py-spy` on PATH (`pip install py-spy`) and ptrace rights.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import processes

WARMUP_S = 4.0  # the load generator connects and warms up before sampling starts
RATE_HZ = 250
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
# Library buckets for self time, first match wins; matched against the frame's file path, which
# py-spy prints relative to its sys.path entry: `func (mcp/server/runner.py:230)`.
_BUCKETS: tuple[tuple[str, str], ...] = (
    ("lean path's HTTP client (http1 + httptools)", r"\((connectors/mcp/http1\.py|httptools/|yarl/)"),
    ("hub + connectors (our code)", r"\((hub|connectors)/"),
    ("mcp SDK server", r"\(mcp/server/"),
    ("mcp SDK client", r"\(mcp/client/"),
    ("mcp SDK shared (dispatcher, streams)", r"\(mcp/(shared|os)/"),
    ("mcp_types", r"\(mcp_types/"),
    ("pydantic", r"\(pydantic(_core)?/"),
    ("httpx2 / httpcore2 (client to upstream)", r"\((httpx2|httpcore2?)/"),
    ("uvicorn + h11 (HTTP server)", r"\((uvicorn|h11)/"),
    ("starlette", r"\((starlette|sse_starlette)/"),
    ("anyio", r"\(anyio/"),
    ("asyncio event loop, sockets, selectors", r"\((asyncio/|selectors\.py|socket\.py)"),
    ("json", r"\(json/"),
    ("logging", r"\(logging/"),
    ("contextlib", r"\(contextlib\.py"),
)
# Layers of one call, outermost first; a sample belongs to the innermost layer on its stack.
_LAYERS: tuple[tuple[str, str], ...] = (
    ("agent edge: uvicorn + h11", r"\((uvicorn/protocols|uvicorn/middleware|h11)/"),
    ("agent edge: starlette + hub auth/routing", r"^(Starlette|McpEndpoints)\."),
    (
        "SDK server transport (parse, classify, SSE/JSON write)",
        r"^(StreamableHTTPSessionManager|handle_modern_request)",
    ),
    ("SDK server: Mcp-Param check (runs tools/list)", r"^_mcp_param_rejection "),
    ("SDK server kernel (validate request, serialize result)", r"^(serve_one|ServerRunner)"),
    ("hub handler + pipeline + connector", r"^(VirtualMcpServer|Pipeline|McpConnector)\."),
    ("SDK client session to upstream (build, validate result)", r"^(ClientSession|JSONRPCDispatcher)\..* \(mcp/"),
    ("SDK client transport to upstream", r"^StreamableHTTPTransport\."),
    ("httpx2 + httpcore2 to upstream", r"\((httpx2|httpcore2?)/"),
    ("lean path: LeanCalls + its HTTP client to upstream", r"^LeanCalls\.|\((connectors/mcp/http1\.py|yarl)/?"),
)
_MAIN_THREAD = "_run_module_as_main ("  # `python -m hub.cli`: the event loop's thread
_IDLE = ("EpollSelector.select (selectors.py", "select (selectors.py")


def run(mode: str, concurrency: int, seconds: float, hub_root: Path = processes.ROOT) -> int:
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    out = processes.CACHE / "hub-profile.txt"
    with processes.upstream() as upstream, processes.hub(upstream.url, mode, hub_root) as hub:
        plan = {
            "mode": mode,
            "targets": [{"name": "hub", "url": hub.url, "pid": hub.pid, "key": hub.key}],
            "levels": [concurrency],
            "max_calls": 1_000_000,
            "max_seconds": seconds + WARMUP_S + 5,
        }
        with processes.load_in_background(plan):
            time.sleep(WARMUP_S)
            command = [spy, "record", "--pid", str(hub.pid), "--duration", str(int(seconds))]
            command += ["--rate", str(RATE_HZ), "--format", "raw", "--output", str(out)]
            subprocess.run(command, check=True, capture_output=True, timeout=seconds + 60)
    print(summarise(out, possible=int(RATE_HZ * seconds)))
    return 0


def summarise(collapsed: Path, possible: int = 0, top: int = 25) -> str:
    """Samples of the event loop's thread that are not waits (py-spy already drops most idle ones)."""
    stacks = _read(collapsed)
    busy = sum(n for frames, n in stacks.items() if not _is_idle(frames)) or 1
    buckets: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    selfs: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, n in stacks.items():
        if _is_idle(frames):
            continue
        leaf = frames[-1]
        buckets[_bucket(leaf)] += n
        layers[_layer(frames)] += n
        selfs[_name(leaf)] += n
        for name in {_name(f) for f in frames}:
            inclusive[name] += n
    lines = [
        f"{busy} busy samples" + (f" of {possible} taken ({busy / possible:.0%} of one core)" if possible else ""),
        "",
    ]
    lines.append("time by layer of the call, innermost layer on the stack (% of busy samples):")
    lines += [f"  {n / busy:6.1%}  {name}" for name, n in layers.most_common()]
    lines += ["", "self time by library (% of busy samples):"]
    lines += [f"  {n / busy:6.1%}  {name}" for name, n in buckets.most_common()]
    lines += ["", f"top {top} functions by inclusive time (% of busy samples):"]
    lines += [f"  {n / busy:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", f"top {top} functions by self time (% of busy samples):"]
    lines += [f"  {n / busy:6.1%}  {name}" for name, n in selfs.most_common(top)]
    return "\n".join(lines)


def _read(path: Path) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        body, _, count = line.rpartition(" ")
        if body and count.isdigit():
            stacks[tuple(body.split(";"))] += int(count)
    return stacks


def _is_idle(frames: tuple[str, ...]) -> bool:
    """Not the event loop's thread (e.g. aiosqlite's worker, blocked in queue.get), or the loop waiting in epoll."""
    return not frames[0].startswith(_MAIN_THREAD) or frames[-1].startswith(_IDLE)


def _layer(frames: tuple[str, ...]) -> str:
    for frame in reversed(frames):
        for name, pattern in reversed(_LAYERS):
            if re.search(pattern, frame):
                return name
    return "event loop, task scheduling, other"


def _bucket(frame: str) -> str:
    for name, pattern in _BUCKETS:
        if re.search(pattern, frame):
            return name
    return "other (stdlib, C code)"


def _name(frame: str) -> str:
    """`func (path/to/file.py:12)` -> `func (pkg/file.py)`."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    return f"{match['func']} ({match['file']})"
