#!/usr/bin/env python3
"""How long does one scan of a fleet's inventory files take? (goal: under 10 s and 200 MB)

Builds N inventory files (default 300) from real agent files: FusionInventory Agent's and
OCS Inventory Agent's inventories of this machine when the agents are installed (they run
once here), tests/data/agents' GLPI Agent, FusionInventory and OCS files and GLPI's own
example, each copied with its own identity (SMBIOS UUID, serial, name, date); every fourth
machine also has an older file in another format under another name (tests/fleetgen.py).
Then times `auditor scan --no-mail --no-host --inventory DIR` as a whole command and prints
the seconds, the peak memory of the process, and how many machines the report holds.
Usage:

    python benchmarks/fleet.py [--files N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fleetgen import make_fleet  # noqa: E402


def real_agent_files(folder: Path) -> list[Path]:
    """This machine's inventory by each Debian agent that is installed (a few seconds each)."""
    found = []
    for name, argv in (
        ("fi", ["fusioninventory-agent", "--no-category=process,environment", "--local"]),
        ("ocs", ["ocsinventory-agent"]),
    ):
        if shutil.which(argv[0]) is None:
            print(f"{argv[0]} not installed: its file is left out", file=sys.stderr)
            continue
        out = folder / name
        out.mkdir()
        full = [*argv, str(out)] if argv[-1] == "--local" else [*argv, f"--local={out}"]
        subprocess.run(full, capture_output=True, timeout=300, check=False)
        found += sorted(out.iterdir())[:1]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    args = parser.parse_args()
    exe = shutil.which("auditor", path=str(Path(sys.executable).parent)) or shutil.which("auditor")
    if not exe:
        sys.exit("install auditor first (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        fleet = make_fleet(base / "fleet", files=args.files, extra=real_agent_files(base))
        env = {"AUDITOR_DB": str(base / "s.db"), "AUDITOR_CONFIG": str(base / "none.toml")}
        report = base / "report.json"
        argv = [exe, "scan", "--no-mail", "--no-host", "-q", "--inventory", str(base / "fleet")]
        start = time.perf_counter()
        process = subprocess.Popen(
            [*argv, "--format", "json", "--output", str(report)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
        )
        stderr = process.stderr.read() if process.stderr else b""
        # wait4: this process's own peak (ru_maxrss, KiB on Linux), not the agents' above
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        peak_mib = usage.ru_maxrss / 1024
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(stderr.decode(errors="replace"))
        hosts = len(json.loads(report.read_text(encoding="utf-8"))["hosts"])
    print(
        f"auditor scan of {fleet.files} inventory files ({fleet.machines} machines, "
        f"{fleet.files - fleet.machines} older duplicates): {seconds:.2f} s, peak memory "
        f"{peak_mib:.0f} MiB, {hosts} machines in the report (goal < 10 s, < 200 MB)"
    )


if __name__ == "__main__":
    main()
