"""Time and peak memory of every stage of the pipeline, one by one, in this workspace.

    python benchmarks/stage_time.py --out benchmarks/stage_time.json            # every stage (a full rebuild's time)
    python benchmarks/stage_time.py --stages collect threads --out /tmp/x.json  # a few stages

Each stage runs as ``dvc repro --force --single-item <stage>`` (its upstream must be up to date, so
run it after ``dvc repro``), in dvc.yaml's order, in a fresh process; its wall-clock time and the
peak RSS of the largest process of its tree (``wait4``) are recorded, with the load average before
and after, the machine and the commit. A forced stage whose outputs are deterministic writes the
same files, so the workspace is left as it was (`dvc status` says whether it is). docs/artifact-
evaluation.md's per-claim table reads the file (``redditess docs``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
from pathlib import Path


def stages(root: Path) -> list[str]:
    """Every stage name in dvc.yaml's order, foreach items expanded (``sft@0``, ...)."""
    out = subprocess.run(["dvc", "stage", "list", "--name-only"], cwd=root, capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def run(root: Path, stage: str, log: Path) -> tuple[float, float]:
    start = time.perf_counter()
    with open(log, "wb") as fh:  # a file, not a pipe: a full pipe would block the stage
        proc = subprocess.Popen(["dvc", "repro", "--force", "--single-item", stage], cwd=root, stdout=fh, stderr=fh)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{stage} failed:\n{log.read_text(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024 / 1024  # KiB -> GiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="*", default=None, help="default: every stage of dvc.yaml")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=Path("."))
    args = parser.parse_args()
    root = args.root.resolve()
    names = args.stages or stages(root)
    logs = root / ".redditess-tmp" / "stage_time"
    logs.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        load = os.getloadavg()[0]
        seconds, gib = run(root, name, logs / f"{name.replace('@', '_')}.log")
        rows.append({"stage": name, "seconds": round(seconds, 1), "peak_rss_gib": round(gib, 3),
                     "load_start": load, "load_end": os.getloadavg()[0]})
        print(f"{name:>24} {seconds:8.1f} s {gib:6.2f} GiB (load {load:.2f} -> {os.getloadavg()[0]:.2f})", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    args.out.write_text(json.dumps({
        "command": "python benchmarks/stage_time.py" + (f" --stages {' '.join(args.stages)}" if args.stages else "")
                   + f" --out {args.out}",
        "date": datetime.date.today().isoformat(), "commit": commit,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs", "stages": rows},
        indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
