"""Time `make run`'s set-up: from the command's start to the first notebook starting.

Run it with `.venv` in place: `.venv/bin/python benchmarks/setup_time.py [repeats]`.
It prints one figure per run and the median, for a sandbox already running and for
one the run must start. It measures; it asserts nothing.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("entra", "atlassian", "keycloak")


def time_to_first_notebook(extra: list[str]) -> float:
    """Seconds from `make run` to the runner's first `running` line."""
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "-s", "run", f"ARGS={' '.join(extra)}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    elapsed = float("nan")
    for line in process.stdout:
        if line.rstrip().endswith(" running"):
            elapsed = time.monotonic() - started
            break
    process.wait()
    return elapsed


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_sandbox(overrides: list[str]) -> None:
    """Stop the benchmark's own background sandbox."""
    subprocess.run(
        [str(ROOT / ".venv/bin/ssopoc"), "sandbox", "--stop", *overrides],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def report(label: str, figures: list[float]) -> None:
    sys.stdout.write(
        f"make run set-up, .venv in place, {label} (s): "
        + ", ".join(f"{s:.2f}" for s in figures)
        + f"; median {statistics.median(figures):.2f}\n"
    )


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as folder:
        # Its own state and ports, so a sandbox the user runs is left alone.
        own = [f"sandbox.state_dir={folder}/sandbox", f"outputs_dir={folder}/outputs"]
        own += [f"sandbox.ports.{name}={free_port()}" for name in SERVICES]
        overrides = [part for item in own for part in ("-p", item)]
        run = [*overrides, "--only", "00"]
        cold = []
        for _ in range(repeats):
            cold.append(time_to_first_notebook(run))
            stop_sandbox(overrides)
        time_to_first_notebook(run)
        warm = [time_to_first_notebook(run) for _ in range(repeats)]
        stop_sandbox(overrides)
    report("sandbox started by the run", cold)
    report("sandbox already running", warm)


if __name__ == "__main__":
    main()
