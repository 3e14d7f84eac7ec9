"""The benchmark's three kinds of process: the echo upstream, the hub, and the load generator.

Each runs as its own subprocess (its own GIL, its own core when one is free), in its own process
group, and is stopped by its pid when its context exits. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import yaml

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"


@dataclass(frozen=True, slots=True)
class HubProcess:
    pid: int
    url: str  # the virtual server's /mcp endpoint
    key: str

    def rss_mib(self) -> float:
        """The hub's resident set size, from /proc/<pid>/status (VmRSS, in kB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")


@dataclass(frozen=True, slots=True)
class UpstreamProcess:
    pid: int
    url: str


@contextmanager
def upstream(wrapper: list[str] | None = None) -> Iterator[UpstreamProcess]:
    """Start `bench.upstream`; yield it once it accepts connections. `wrapper` prefixes the command."""
    command = [*(wrapper or []), sys.executable, "-m", "bench.upstream"]
    with spawn(command, CACHE / "upstream.log", stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        line = read_line(proc, timeout_s=300 if wrapper else 20)
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"bench upstream did not start: {line!r} (see {CACHE / 'upstream.log'})")
        yield UpstreamProcess(proc.pid, line.split()[1])


@contextmanager
def hub(
    upstream_url: str, mode: str, root: Path = ROOT, audit: bool = True, wrapper: list[str] | None = None
) -> Iterator[HubProcess]:
    """Start `hub serve` on a free loopback port with one upstream, one virtual server, one agent.

    The hub speaks `mode`'s era to the upstream too. The modern era is reached with `protocol: auto`
    (discover, then 2026-07-28), as most configurations will.
    `root` runs the hub package from another tree (a scratch copy with a proposed change);
    `wrapper` prefixes the command (valgrind, for instruction counts).
    """
    protocol = "legacy" if mode == "legacy" else "auto"
    key = "hub_" + secrets.token_urlsafe(32)
    port = free_port()
    config = CACHE / f"hub-{mode}.yaml"
    database = CACHE / f"hub-{mode}.db"
    database.unlink(missing_ok=True)
    settings = _hub_config(upstream_url, protocol, key) | {"storage": {"url": f"sqlite+aiosqlite:///{database}"}}
    if not audit:  # the audit log is on by default; off, to see the rest of the hub's cost on its own
        settings["audit"] = {"enabled": False}
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    command = [*(wrapper or []), sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--port", str(port)]
    with spawn(command, CACHE / f"hub-{mode}.log", cwd=root) as proc:
        wait_ready(proc, f"http://127.0.0.1:{port}/ready", timeout_s=300 if wrapper else 30)
        yield HubProcess(proc.pid, f"http://127.0.0.1:{port}/servers/bench/mcp", key)


def run_load(plan: dict[str, Any], timeout_s: float) -> list[dict[str, Any]]:
    """Run one `bench.load` process to completion and return its per-level results."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps(plan)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed with exit code {done.returncode}")
    levels: list[dict[str, Any]] = json.loads(done.stdout)["levels"]
    return levels


@contextmanager
def load_in_background(plan: dict[str, Any]) -> Iterator[subprocess.Popen[bytes]]:
    """A `bench.load` process left running (for the profiler); stopped when the context exits."""
    with spawn([sys.executable, "-m", "bench.load", json.dumps(plan)], CACHE / "load.log") as proc:
        yield proc


def tree_state(root: Path) -> dict[str, Any]:
    """Which code was measured: the commit and how many files differed from it (others edit concurrently)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip()

    return {
        "root": str(root),
        "commit": git("rev-parse", "--short", "HEAD"),
        "changed_files": len(git("status", "--porcelain").splitlines()),
    }


def _hub_config(upstream_url: str, protocol: str, key: str) -> dict[str, Any]:
    return {
        "server": {"host": "127.0.0.1"},
        "upstreams": [{"name": "echo", "kind": "streamable-http", "url": upstream_url, "protocol": protocol}],
        "virtual_servers": [{"name": "bench", "include": [{"upstream": "echo"}]}],
        "agents": [{"name": "bench-agent", "keys": [{"key": key}], "servers": [{"server": "bench"}]}],
    }


@contextmanager
def spawn(
    command: list[str], log: Path, stdout: int | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            command, cwd=cwd, stdout=stdout or err, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's own group, then SIGKILL it if it has not exited within 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def read_line(proc: subprocess.Popen[bytes], timeout_s: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    os.set_blocking(proc.stdout.fileno(), False)
    buffer = b""
    while time.monotonic() < deadline and proc.poll() is None:
        buffer += proc.stdout.read() or b""
        if b"\n" in buffer:
            return buffer.split(b"\n", 1)[0].decode()
        time.sleep(0.05)
    return buffer.decode()


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the hub exited with code {proc.returncode} (see {CACHE}/hub-*.log)")
        try:
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the hub was not ready within {timeout_s:g}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
