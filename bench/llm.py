"""`python -m bench llm`: what the hub adds to a chat completion, against the fake provider direct and LiteLLM's proxy.

    python -m bench llm                       # 300 calls per target and kind, concurrency 1
    python -m bench llm --calls 100 --concurrency 4

Four processes: the fake providers (`tests.servers.llm.server`), the hub (`hub serve` with one model
group on the fake OpenAI API), LiteLLM's own proxy server configured with the same deployment, and
this process as the client. For each target it measures non-streaming latency and, for streams, the
time to the first content chunk, interleaving targets call by call so drift hits them alike.
Overhead = target's percentile - direct's percentile. Target: hub overhead ≤ half of the proxy's, at
p50 and p99.

LiteLLM's proxy (PyPI `litellm[proxy]`) has server dependencies the hub does not want, so it runs
from its own virtualenv: `--proxy-bin PATH`, or `$LITELLM_PROXY_BIN`, or `.cache/bench/litellm-proxy`
(made on first use with `pip install litellm[proxy]==PROXY_VERSION`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml

from bench.processes import CACHE, ROOT, free_port, read_line, spawn, stop, wait_ready

PROXY_VERSION = "1.80.0"  # the newest release whose [proxy] extra installs from PyPI here
PROXY_VENV = CACHE / "litellm-proxy"
STREAM_TOKENS = 20


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench llm", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--calls", type=int, default=300, help="measured calls per target and kind")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured calls per target first")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--proxy-bin", type=Path, default=None, help="the `litellm` CLI of a litellm[proxy] install")
    args = parser.parse_args(argv)
    proxy_bin = args.proxy_bin or Path(os.environ.get("LITELLM_PROXY_BIN", PROXY_VENV / "bin" / "litellm"))
    if not proxy_bin.exists():
        _install_proxy(proxy_bin)
    with _fakes() as fake, _hub(fake) as hub, _proxy(fake, proxy_bin) as proxy:
        targets = {
            "direct": (f"{fake}/openai/v1/chat/completions", "fake-gpt", ""),
            "hub": (f"{hub[0]}/v1/chat/completions", "chat", hub[1]),
            "litellm-proxy": (f"{proxy}/v1/chat/completions", "chat", "sk-bench"),
        }
        results = anyio.run(_measure, targets, args.calls, args.warmup, args.concurrency)
    report = _report(results)
    print(report["table"])
    print("\n".join(report["verdicts"]))
    out = CACHE / "llm-latest.json"
    out.write_text(
        json.dumps({"settings": vars(args) | {"proxy_bin": str(proxy_bin)}, **report}, indent=2, default=str)
    )
    print(f"\nsaved {out.relative_to(ROOT)}")
    return 0


def _install_proxy(proxy_bin: Path) -> None:
    if proxy_bin != PROXY_VENV / "bin" / "litellm":
        raise SystemExit(f"{proxy_bin} does not exist")
    print(f"installing litellm[proxy]=={PROXY_VERSION} into {PROXY_VENV} (once)", file=sys.stderr)
    venv.create(PROXY_VENV, with_pip=True)
    pip = [str(PROXY_VENV / "bin" / "pip"), "install", "--quiet", f"litellm[proxy]=={PROXY_VERSION}"]
    subprocess.run(pip, check=True, timeout=900)


@contextmanager
def _fakes() -> Iterator[str]:
    command = [sys.executable, "-m", "tests.servers.llm.server", "--stream-tokens", str(STREAM_TOKENS)]
    with spawn(command, CACHE / "llm-fakes.log", stdout=subprocess.PIPE) as proc:
        line = read_line(proc, timeout_s=20)
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"the fake providers did not start: {line!r}")
        yield line.split()[1]


@contextmanager
def _hub(fake: str) -> Iterator[tuple[str, str]]:
    key = "hub_" + secrets.token_urlsafe(32)
    port = free_port()
    database = CACHE / "hub-llm.db"
    database.unlink(missing_ok=True)
    deployment = {"name": "gpt", "provider": "openai", "model": "fake-gpt", "base_url": f"{fake}/openai/v1"}
    settings = {
        "server": {"host": "127.0.0.1"},
        "storage": {"url": f"sqlite+aiosqlite:///{database}"},
        "observability": {"log_level": "WARNING"},
        "agents": [{"name": "bench-agent", "keys": [{"key": key}], "models": ["chat"]}],
        "models": [{"name": "chat", "deployments": [{**deployment, "api_key": "sk-bench-provider"}]}],
    }
    config = CACHE / "hub-llm.yaml"
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    command = [sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--port", str(port)]
    with spawn(command, CACHE / "hub-llm.log") as proc:
        wait_ready(proc, f"http://127.0.0.1:{port}/ready", timeout_s=60)
        yield f"http://127.0.0.1:{port}", key


@contextmanager
def _proxy(fake: str, proxy_bin: Path) -> Iterator[str]:
    port = free_port()
    settings = {
        "model_list": [
            {
                "model_name": "chat",
                "litellm_params": {"model": "openai/fake-gpt", "api_base": f"{fake}/openai/v1", "api_key": "sk-x"},
            }
        ],
        "litellm_settings": {"telemetry": False, "drop_params": True},
        "general_settings": {"master_key": "sk-bench"},
    }
    config = CACHE / "litellm-proxy.yaml"
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "DISABLE_SCHEMA_UPDATE": "true",
    }
    command = [
        str(proxy_bin),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    log = CACHE / "litellm-proxy.log"
    CACHE.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            command, stdout=err, stderr=err, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/health/liveliness", timeout_s=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


async def _measure(
    targets: dict[str, tuple[str, str, str]], calls: int, warmup: int, concurrency: int
) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {name: {"complete": [], "ttft": []} for name in targets}
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        for phase, count in (("warmup", warmup), ("measure", calls)):
            for i in range(0, count, concurrency):
                for name, target in targets.items():  # interleaved: drift reaches every target alike
                    async with anyio.create_task_group() as tg:
                        for _ in range(min(concurrency, count - i)):
                            tg.start_soon(_one, http, target, results[name], phase == "measure")
    return results


async def _one(http: httpx.AsyncClient, target: tuple[str, str, str], out: dict[str, list[float]], keep: bool) -> None:
    url, model, key = target
    headers = {"authorization": f"Bearer {key}"} if key else {}
    body = {"model": model, "messages": [{"role": "user", "content": "measure the overhead of this hop"}]}
    started = time.perf_counter()
    response = await http.post(url, json=body, headers=headers)
    response.raise_for_status()
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    first = None
    async with http.stream("POST", url, json={**body, "stream": True}, headers=headers) as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if first is None and '"content":"t' in line.replace(" ", ""):
                first = time.perf_counter() - started
    if keep and first is not None:
        out["complete"].append(elapsed * 1000)
        out["ttft"].append(first * 1000)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _report(results: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    rows, verdicts, numbers = [], [], {}
    for kind in ("complete", "ttft"):
        base = results["direct"][kind]
        for q, label in ((0.5, "p50"), (0.99, "p99")):
            direct = _percentile(base, q)
            hub = _percentile(results["hub"][kind], q) - direct
            proxy = _percentile(results["litellm-proxy"][kind], q) - direct
            numbers[f"{kind}_{label}"] = {"direct_ms": direct, "hub_overhead_ms": hub, "proxy_overhead_ms": proxy}
            ratio = hub / proxy if proxy > 0 else float("inf")
            rows.append(
                f"{kind:<9} {label}  direct {direct:7.2f} ms   hub +{hub:7.2f} ms"
                f"   litellm-proxy +{proxy:7.2f} ms   hub/proxy {ratio:5.2f}"
            )
            verdicts.append(
                f"{'MET ' if ratio <= 0.5 else 'MISSED'} {kind} {label}: hub overhead {hub:.2f} ms"
                f" vs proxy {proxy:.2f} ms (target <= 0.5x)"
            )
    counts = {name: len(r["complete"]) for name, r in results.items()}
    means = {name: statistics.fmean(r["complete"]) for name, r in results.items() if r["complete"]}
    header = f"calls measured per target: {counts}; mean complete ms: { {k: round(v, 2) for k, v in means.items()} }"
    return {"table": "\n".join([header, *rows]), "verdicts": verdicts, "numbers": numbers}
