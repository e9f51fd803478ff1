"""Dump-ingest benchmark: the collect stage's dump reader against the naive approach.

    python benchmarks/dump_ingest.py                 # ~200 MB dump, as in the README
    python benchmarks/dump_ingest.py --size-mb 50    # quicker
    python benchmarks/dump_ingest.py --out benchmarks/dump_ingest.json   # the committed figures (docs/benchmarks.md)

Writes a synthetic RC_ dump (Pushshift comment records over 40 subreddits, zstd with a long window,
the way the real dumps are compressed) of ``--size-mb`` uncompressed megabytes, and a half-size one.
Then, each in a fresh process so peak memory is its own, it reads them keeping 2 subreddits (~5%):

* naive: decompress to text, ``json.loads`` every line, filter in Python;
* redditess: ``redditess.sources.dump.read_dumps`` (byte-level subreddit pre-filter, orjson for the
  survivors, kept records in an on-disk SQLite store).

It prints throughput in uncompressed MB/s and peak RSS, for both sizes (flat memory shows as the
same peak at both sizes).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zstandard

SUBS = [f"sub{i:02d}" for i in range(38)] + ["depression", "SuicideWatch"]
WORDS = "i feel you are not alone this helped me a lot try to talk with someone you trust every day".split()


def make_dump(path: Path, size_mb: float, seed: int) -> int:
    rng = random.Random(seed)
    target = int(size_mb * 1e6)
    written = n = 0
    cctx = zstandard.ZstdCompressor(level=3)
    with open(path, "wb") as raw, cctx.stream_writer(raw) as out:
        while written < target:
            sub = rng.choice(SUBS)
            # The fields of a 2019-era Pushshift comment record, so parse cost per line is realistic.
            rec = {
                "all_awardings": [], "associated_award": None, "author": f"user{rng.randrange(10**6)}",
                "author_flair_background_color": None, "author_flair_css_class": None, "author_flair_richtext": [],
                "author_flair_template_id": None, "author_flair_text": None, "author_flair_text_color": None,
                "author_flair_type": "text", "author_fullname": f"t2_{rng.randrange(36**6):x}", "author_patreon_flair": False,
                "author_premium": False, "awarders": [], "body": " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 120))),
                "collapsed_because_crowd_control": None, "created_utc": 1400000000 + n, "gildings": {}, "id": f"c{n:08x}",
                "is_submitter": False, "link_id": f"t3_p{n // 20:07x}", "locked": False, "no_follow": True,
                "parent_id": f"t3_p{n // 20:07x}", "permalink": f"/r/{sub}/comments/p{n // 20:07x}/x/c{n:08x}/",
                "retrieved_on": 1500000000, "score": rng.randint(-5, 50), "send_replies": True, "stickied": False,
                "subreddit": sub, "subreddit_id": f"t5_{SUBS.index(sub):05x}", "subreddit_name_prefixed": f"r/{sub}",
                "subreddit_type": "public", "top_awarded_type": None, "total_awards_received": 0, "treatment_tags": [],
                "edited": False, "controversiality": 0, "gilded": 0, "distinguished": None,
            }
            line = (json.dumps(rec) + "\n").encode()
            out.write(line)
            written += len(line)
            n += 1
    return written


def run_naive(path: str) -> int:
    from redditess.sources.dump import naive_read

    return sum(1 for _ in naive_read(Path(path), {"depression", "suicidewatch"}))


def run_redditess(path: str) -> int:
    from redditess.config import DumpConfig
    from redditess.sources.dump import RecordStore, read_dumps

    with tempfile.TemporaryDirectory() as tmp:
        store = RecordStore(Path(tmp) / "r.sqlite")
        stats = read_dumps(DumpConfig(paths=[path], subreddits=["depression", "SuicideWatch"]), False, store)
        return stats.lines["kept_comment"]


def child(method: str, path: str) -> None:
    start = time.perf_counter()
    kept = {"naive": run_naive, "redditess": run_redditess}[method](path)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"kept": kept, "seconds": seconds, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON (docs/benchmarks.md reads it)")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {}
        for label, mb in (("half", args.size_mb / 2), ("full", args.size_mb)):
            path = Path(tmp) / f"RC_bench_{label}.zst"
            sizes[label] = (path, make_dump(path, mb, args.seed) / 1e6, path.stat().st_size / 1e6)
        print(f"{'file':>5} {'MB (zst)':>9} {'method':>10} {'kept':>8} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12}")
        results = {}
        for label, (path, mb, zmb) in sizes.items():
            for method in ("naive", "redditess"):
                out = subprocess.run([sys.executable, __file__, "--child", method, str(path)], capture_output=True,
                                     text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                results[(label, method)] = r
                print(f"{label:>5} {mb:6.0f} ({zmb:3.0f}) {method:>10} {r['kept']:8d} {r['seconds']:8.2f} "
                      f"{mb / r['seconds']:7.1f} {r['peak_mb']:12.0f}")
        full_naive, full_ours = results[("full", "naive")], results[("full", "redditess")]
        assert full_naive["kept"] == full_ours["kept"], "both methods must keep the same records"
        print(f"speed-up on the full file: {full_naive['seconds'] / full_ours['seconds']:.2f}x; redditess peak RSS "
              f"{results[('half', 'redditess')]['peak_mb']:.0f} MB at half size, {full_ours['peak_mb']:.0f} MB at full size")
        if args.out:
            import datetime
            import os
            import platform

            runs = [{"file_mb": sizes[label][1], "zst_mb": sizes[label][2], "method": method, "kept": r["kept"],
                     "seconds": r["seconds"], "mb_per_s": sizes[label][1] / r["seconds"], "peak_mb": r["peak_mb"]}
                    for (label, method), r in results.items()]
            speedup = [[sizes[label][1], results[(label, "naive")]["seconds"] / results[(label, "redditess")]["seconds"]]
                       for label in sizes]
            args.out.write_text(json.dumps({
                "command": f"python benchmarks/dump_ingest.py --size-mb {args.size_mb:g} --out {args.out}",
                "date": datetime.date.today().isoformat(),
                "machine": f"{platform.system()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                           f"load average {os.getloadavg()[0]:.2f}",
                "runs": runs, "speedup": speedup}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
