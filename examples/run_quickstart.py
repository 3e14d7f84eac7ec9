"""`make run`: start the quickstart's HTTP example upstream, then the hub in the foreground.

The stdio upstream is started by the hub itself; the clock server stands in for a remote HTTP
upstream, so this script runs it beside the hub and stops it when the hub stops.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    config = sys.argv[1] if len(sys.argv) > 1 else str(HERE / "quickstart.yaml")
    log_dir = Path("data")
    log_dir.mkdir(exist_ok=True)
    with (log_dir / "clock.log").open("wb") as clock_log:  # keep the terminal for the hub's own output
        clock = subprocess.Popen(
            [sys.executable, str(HERE / "servers" / "clock.py"), "--port", "8931"], stdout=clock_log, stderr=clock_log
        )
    try:
        return subprocess.call([sys.executable, "-m", "hub.cli", "serve", "--config", config])
    except KeyboardInterrupt:
        return 0
    finally:
        clock.terminate()
        clock.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
