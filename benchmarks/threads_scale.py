"""Data stages at research scale: collect + threads on a synthetic Pushshift dump of N million comments.

    python benchmarks/threads_scale.py                          # N = 1, 2, 4 million (the README's figures)
    python benchmarks/threads_scale.py --millions 0.1 0.2 0.4   # a quick run

For each N it writes a dump in the Pushshift monthly format (``RS_2021-0M.zst`` / ``RC_2021-0M.zst``
over four months, zstd; one submission per eight comments, a fifth of the posts in subreddits the
run filters out, threads with top-level comments, OP replies and deeper replies), then runs the
real stages ``python stages/collect.py`` (``collect.workers`` processes, PII scrubbing on) and
``python stages/threads.py`` (DuckDB under ``threads.memory_mb``) in a scratch copy of the pipeline,
each in a fresh process. It reports dump lines per second and the peak RSS of each stage (the
largest single process of the stage's process tree, from ``wait4``), and the ratio of the peak at
the largest N to that at the smallest: flat memory shows as a ratio near 1 (target: at most 1.2).
Results go to stdout and, as JSON with the machine and date, to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import yaml
import zstandard

ROOT = Path(__file__).resolve().parents[1]
KEPT_SUBS = ["depression", "Anxiety"]
OTHER_SUBS = ["pics", "gaming"]
WORDS = ("i feel you are not alone this helped me a lot try to talk with someone you trust every day "
         "thank you so much that sounds really hard sleep work family friends anxious tired").split()
MONTHS = 4
COMMENTS_PER_POST = 8


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, k=n))


def make_dump(folder: Path, millions: float, seed: int) -> tuple[int, int]:
    """Write the synthetic monthly files; return (submissions, comments)."""
    rng = random.Random(seed)
    n_posts = int(millions * 1e6 / COMMENTS_PER_POST)
    folder.mkdir(parents=True, exist_ok=True)
    n_comments = 0
    base = 1609459200
    per_month = -(-n_posts // MONTHS)
    for month in range(MONTHS):
        first, last = month * per_month, min(n_posts, (month + 1) * per_month)
        with open(folder / f"RS_2021-{month + 1:02d}.zst", "wb") as rs_raw, \
                open(folder / f"RC_2021-{month + 1:02d}.zst", "wb") as rc_raw, \
                zstandard.ZstdCompressor(level=3).stream_writer(rs_raw) as rs, \
                zstandard.ZstdCompressor(level=3).stream_writer(rc_raw) as rc:  # one compressor per stream
            for p in range(first, last):
                pid = f"p{p:09x}"
                sub = rng.choice(OTHER_SUBS) if rng.random() < 0.2 else rng.choice(KEPT_SUBS)
                op = f"user{rng.randrange(200000)}"
                t = base + p * 10
                rs.write(orjson.dumps({
                    "id": pid, "author": op, "subreddit": sub, "title": _text(rng, 6), "selftext": _text(rng, 40)
                    + ("\n\nEDIT: " + _text(rng, 8) if rng.random() < 0.7 else ""), "created_utc": t,
                    "retrieved_on": t + 86400, "score": rng.randint(0, 50), "num_comments": COMMENTS_PER_POST,
                    "edited": t + 3600 if rng.random() < 0.8 else False, "is_self": True, "over_18": False}) + b"\n")
                tops: list[str] = []
                for k in range(COMMENTS_PER_POST):
                    cid = f"c{n_comments:09x}"
                    n_comments += 1
                    if k < 4 or not tops:
                        parent, author = f"t3_{pid}", f"user{rng.randrange(200000)}"
                        tops.append(cid)
                    elif k < 6:
                        parent, author = f"t1_{rng.choice(tops)}", op  # the OP answers a helper
                    else:
                        parent, author = f"t1_c{n_comments - 2:09x}", f"user{rng.randrange(200000)}"
                    rc.write(orjson.dumps({
                        "id": cid, "link_id": f"t3_{pid}", "parent_id": parent, "author": author, "subreddit": sub,
                        "body": _text(rng, rng.randint(8, 60)), "created_utc": t + 60 * (k + 1),
                        "retrieved_on": t + 86400, "score": rng.randint(-2, 30), "is_submitter": author == op,
                        "edited": False}) + b"\n")
    return n_posts, n_comments


def _pipeline(dest: Path, workers: int, memory_mb: int) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("stages", "src"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("params.yaml", "takedown.txt", "published_ids.tsv"):
        shutil.copy2(ROOT / name, dest / name)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["collect"].update(source="dump", workers=workers)
    params["collect"]["dump"].update(paths=["dumps/R[SC]_*.zst"], root="dumps", subreddits=KEPT_SUBS)
    params["threads"]["memory_mb"] = memory_mb
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _run(repo: Path, stage: str) -> tuple[float, float]:
    """Run one stage in a fresh process; return (seconds, peak RSS in MiB of its largest process)."""
    env = dict(os.environ, PYTHONPATH=str(repo / "src"), REDDITESS_SALT="threads-scale-benchmark-salt",
               REDDITESS_LOG="WARNING")
    start = time.perf_counter()
    with open(repo / f"{stage}.log", "wb") as log:  # a file, not a pipe: a full pipe would block the stage
        proc = subprocess.Popen([sys.executable, f"stages/{stage}.py"], cwd=repo, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{(repo / f'{stage}.log').read_text(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def _machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({model}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--millions", type=float, nargs="+", default=[1, 2, 4], help="comments per run, in millions")
    ap.add_argument("--workers", type=int, default=2, help="collect.workers")
    ap.add_argument("--memory-mb", type=int, default=256, help="threads.memory_mb")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "threads_scale.json")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="threads-scale-", dir=args.workdir))
    rows = []
    try:
        for millions in args.millions:
            repo = work / f"n{millions:g}"
            _pipeline(repo, args.workers, args.memory_mb)
            t0 = time.perf_counter()
            n_posts, n_comments = make_dump(repo / "dumps", millions, args.seed)
            gen = time.perf_counter() - t0
            dump_mb = sum(p.stat().st_size for p in (repo / "dumps").iterdir()) / 2**20
            collect_s, collect_rss = _run(repo, "collect")
            threads_s, threads_rss = _run(repo, "threads")
            lines = n_posts + n_comments
            metrics = json.loads((repo / "metrics/threads.json").read_text())
            collected = json.loads((repo / "metrics/collect.json").read_text())
            row = {"millions": millions, "comments": n_comments, "submissions": n_posts, "dump_mb_zst": round(dump_mb, 1),
                   "generate_s": round(gen, 1), "collect_s": round(collect_s, 1), "threads_s": round(threads_s, 1),
                   "collect_records_per_s": round(lines / collect_s),
                   "threads_records_per_s": round(metrics["records_in"] / threads_s),
                   "records_per_s": round(lines / (collect_s + threads_s)),
                   "collect_peak_rss_mib": round(collect_rss), "threads_peak_rss_mib": round(threads_rss),
                   "peak_rss_mib": round(max(collect_rss, threads_rss)),
                   "kept_records": metrics["records_in"], "units": metrics["units"], "posts": metrics["posts"],
                   "filtered_subreddit_lines": collected.get("lines_filtered_subreddit", 0)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            shutil.rmtree(repo)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    result = {"command": "python benchmarks/threads_scale.py " + " ".join(sys.argv[1:]),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "machine": _machine(),
              "workers": args.workers, "memory_mb": args.memory_mb, "runs": rows,
              "peak_rss_ratio_largest_to_smallest": round(ratio, 3)}
    print(f"peak RSS at {rows[-1]['millions']:g} M / at {rows[0]['millions']:g} M comments: {ratio:.2f} (target <= 1.2)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
