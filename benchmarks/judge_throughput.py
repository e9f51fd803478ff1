"""LLM-judge labeling throughput against a local OpenAI-compatible server that answers after 200 ms.

    python benchmarks/judge_throughput.py             # N = 1, 2, 4, 8, 16, 32; 40 x N requests; 3 runs
    python benchmarks/judge_throughput.py --out benchmarks/judge_throughput.json   # the committed figures (docs/benchmarks.md)

The server (tests/fake_openai.py) runs in its own process; the judge runs the real openai client
through ``redditess.judges.judge_all`` with a fresh ledger. With concurrency N the ideal is N / 0.2
requests per second; the target is at least 90 % of it up to N = 32, judged on the median of the
runs (each level is run ``--runs`` times; the table shows every run and the median).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
from fake_openai import FakeOpenAI
with FakeOpenAI(delay={delay}) as s:
    print(s.url, flush=True)
    time.sleep(3600)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--levels", default="1,2,4,8,16,32")
    parser.add_argument("--rounds", type=int, default=40, help="requests per level = rounds x N (at least 20)")
    parser.add_argument("--runs", type=int, default=3, help="runs per level; the median decides")
    parser.add_argument("--target", type=float, default=0.9, help="share of N / delay each level must reach")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON (docs/benchmarks.md reads it)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import openai  # noqa: F401  (imported before timing: its import cost is not throughput)

    from redditess.config import JudgeConfig
    from redditess.judges import judge_all, request_body, request_key

    server = subprocess.Popen([sys.executable, "-c", SERVER.format(tests=str(ROOT / "tests"), delay=args.delay)],
                              stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    os.environ["BENCH_KEY"] = "sk-bench"
    load_start = os.getloadavg()[0]
    print(platform.node(), platform.processor() or platform.machine(), f"{os.cpu_count()} CPUs",
          "load average %.2f %.2f %.2f" % os.getloadavg())
    levels = []
    print(f"{'N':>3} {'requests':>8} {'ideal':>7} {'req/s per run':>24} {'median':>7} {'share':>6}")
    ok = True
    try:
        for n in (int(x) for x in args.levels.split(",")):
            cfg = JudgeConfig(name="bench", model="fake-judge", base_url=url, api_key_env="BENCH_KEY", concurrency=n)
            total = max(20, args.rounds * n)
            rates = []
            for run in range(args.runs):
                bodies = {}
                for i in range(total):
                    body = request_body(cfg, f"POST TITLE: t\nPOST: p\n\nREPLY: I hear you, that sounds hard. ({n}/{run}/{i})")
                    bodies[request_key(body)] = body
                with tempfile.TemporaryDirectory() as tmp:
                    start = time.perf_counter()
                    judge_all(cfg, bodies, Path(tmp) / "ledger.jsonl", seed=0)
                    rates.append(total / (time.perf_counter() - start))
            rps, ideal = statistics.median(rates), n / args.delay
            ok &= rps >= args.target * ideal
            runs = " ".join(f"{r:7.1f}" for r in rates)
            print(f"{n:3d} {total:8d} {ideal:7.1f} {runs:>24} {rps:7.1f} {rps / ideal:6.0%}", flush=True)
            levels.append({"concurrency": n, "requests": total, "requests_per_s": [round(r, 2) for r in rates],
                           "median": round(rps, 2), "ideal": ideal})
    finally:
        server.kill()
    print(json.dumps({f"all_levels_at_least_{args.target:.0%}": ok}))
    if args.out:
        import datetime

        cpu = platform.processor() or platform.machine()
        args.out.write_text(json.dumps({
            "command": "python benchmarks/judge_throughput.py" + (f" --out {args.out}" if args.out else ""),
            "date": datetime.date.today().isoformat(), "machine": f"{platform.system()} {cpu}, {os.cpu_count()} CPUs",
            "load_start": load_start, "load_end": os.getloadavg()[0], "delay_s": args.delay, "target": args.target,
            "all_levels_ok": bool(ok), "levels": levels}, indent=2, sort_keys=True) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
