"""LLM-judge labeling throughput against a local OpenAI-compatible server that answers after 200 ms.

    python benchmarks/judge_throughput.py             # N = 1, 2, 4, 8, 16, 32

The server (tests/fake_openai.py) runs in its own process; the judge runs the real openai client
through ``redditess.judges.judge_all`` with a fresh ledger. With concurrency N the ideal is N / 0.2
requests per second; the target is at least 80 % of it up to N = 32.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
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
    parser.add_argument("--rounds", type=int, default=10, help="requests per level = rounds x N (at least 20)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import openai  # noqa: F401  (imported before timing: its import cost is not throughput)

    from redditess.config import JudgeConfig
    from redditess.judges import judge_all, request_body, request_key

    server = subprocess.Popen([sys.executable, "-c", SERVER.format(tests=str(ROOT / "tests"), delay=args.delay)],
                              stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    os.environ["BENCH_KEY"] = "sk-bench"
    print(f"{'N':>3} {'requests':>8} {'seconds':>8} {'req/s':>7} {'ideal':>7} {'share':>6}")
    ok = True
    try:
        for n in (int(x) for x in args.levels.split(",")):
            cfg = JudgeConfig(name="bench", model="fake-judge", base_url=url, api_key_env="BENCH_KEY", concurrency=n)
            total = max(20, args.rounds * n)
            bodies = {}
            for i in range(total):
                body = request_body(cfg, f"POST TITLE: t\nPOST: p\n\nREPLY: I hear you, that sounds hard. ({n}/{i})")
                bodies[request_key(body)] = body
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                _, stats = judge_all(cfg, bodies, Path(tmp) / "ledger.jsonl", seed=0)
                seconds = time.perf_counter() - start
            rps, ideal = total / seconds, n / args.delay
            ok &= rps >= 0.8 * ideal
            print(f"{n:3d} {total:8d} {seconds:8.2f} {rps:7.1f} {ideal:7.1f} {rps / ideal:6.0%}")
    finally:
        server.kill()
    print(json.dumps({"all_levels_at_least_80_percent": ok}))


if __name__ == "__main__":
    main()
