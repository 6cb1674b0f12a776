"""Time `make run`'s set-up: from the command's start to the first notebook starting.

Run it with `.venv` in place: `.venv/bin/python benchmarks/setup_time.py [repeats]`.
It prints one figure per run and the median, for a sandbox already running and for
one the run must start. It measures; it asserts nothing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as folder:
        state = ["-p", f"sandbox.state_dir={folder}/sandbox"]
        outputs = ["-p", f"outputs_dir={folder}/outputs", "--only", "00"]
        cold = [time_to_first_notebook([*state, *outputs]) for _ in range(repeats)]
    sys.stdout.write(
        "make run set-up, .venv in place, sandbox started by the run (s): "
        + ", ".join(f"{s:.2f}" for s in cold)
        + f"; median {statistics.median(cold):.2f}\n"
    )


if __name__ == "__main__":
    main()
