"""`python examples/legacy/run.py`: create the warehouse database, start the purchasing API, run the hub.

Run it from the repository root. The hub starts the notes MCP server itself; this script runs the
REST service beside the hub (its log goes to data/legacy/purchasing.log) and stops it with the hub.
`--port 0` serves both on free ports (the hub prints its URL on its LISTENING line).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = "data/legacy"  # as hub.yaml names it
DEFAULT_API = "http://127.0.0.1:8940"

sys.path.insert(0, str(HERE))
import warehouse  # noqa: E402  # beside this script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8000, help="the hub's port; 0: free ports for hub and API")
    parser.add_argument("--data", type=Path, default=Path(DATA), help=f"where the databases and logs go ({DATA})")
    args = parser.parse_args()
    data: Path = args.data
    data.mkdir(parents=True, exist_ok=True)
    if warehouse.create(data / "warehouse.db"):
        print(f"created {data / 'warehouse.db'}", file=sys.stderr)
    api_port = "0" if args.port == 0 else DEFAULT_API.rsplit(":", 1)[1]
    with (data / "purchasing.log").open("wb") as log:
        api = subprocess.Popen(
            [sys.executable, str(HERE / "purchasing_api.py"), "--port", api_port], stdout=subprocess.PIPE, stderr=log
        )
    try:
        assert api.stdout is not None
        line = api.stdout.readline().decode()  # "LISTENING <url>", or nothing if it failed to start
        if not line.startswith("LISTENING "):
            print(f"the purchasing API did not start; see {data / 'purchasing.log'}", file=sys.stderr)
            return 1
        return _serve_hub(line.split()[1], args.port, data)
    except KeyboardInterrupt:
        return 0
    finally:
        api.terminate()
        api.wait(timeout=10)


def _serve_hub(api_url: str, port: int, data: Path) -> int:
    """Serve hub.yaml, pointed at the API's actual address and at `data`."""
    config = (HERE / "hub.yaml").read_text(encoding="utf-8").replace(DEFAULT_API, api_url)
    config = config.replace(f"{DATA}/", f"{data.resolve()}/")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=data, delete=False) as copy:
        copy.write(config)
    try:
        command = [sys.executable, "-m", "hub.cli", "serve", "--config", copy.name, "--port", str(port)]
        # `command: python` in hub.yaml is this interpreter (the one with the hub installed), as with `make run`.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        return subprocess.call(command, env={**os.environ, "PATH": path, "PYTHONUNBUFFERED": "1"})
    finally:
        Path(copy.name).unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
