#!/usr/bin/env python3
"""How long does `auditor inventory` take on this machine? (target: under 3 s)

Runs the installed console script N times (default 5), each as a whole command seen from
outside, and prints the median and the slowest. Usage:

    python benchmarks/inventory_time.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = shutil.which("auditor", path=str(Path(sys.executable).parent)) or shutil.which("auditor")
    if not exe:
        sys.exit("install auditor first (pip install -e .)")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out = Path(tmp) / f"inv{i}.json"
            start = time.perf_counter()
            subprocess.run(
                [exe, "inventory", "--output", str(out)], check=True, capture_output=True
            )
            times.append(time.perf_counter() - start)
    print(
        f"auditor inventory: median {statistics.median(times):.2f} s, "
        f"slowest {max(times):.2f} s over {args.runs} runs (target < 3 s)"
    )


if __name__ == "__main__":
    main()
