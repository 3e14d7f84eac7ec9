"""`make run`: start the quickstart's HTTP example upstream, then the hub in the foreground.

The stdio upstream is started by the hub itself; the clock server stands in for a remote HTTP
upstream, so this script runs it beside the hub and stops it when the hub stops.
"""

from __future__ import annotations

import signal
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
        hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--config", config])
        # A SIGTERM for `make run` (a supervisor, `kill`) stops the hub gracefully, then the clock;
        # Ctrl-C reaches the hub from the terminal itself, so it is only waited for.
        signal.signal(signal.SIGTERM, lambda signum, frame: hub.terminate())
        try:
            return hub.wait()
        except KeyboardInterrupt:
            return hub.wait()
    finally:
        clock.terminate()
        clock.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
