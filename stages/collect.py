"""Stage collect: raw Reddit records (Pushshift format) from the configured source.

    dvc repro collect        # or: python stages/collect.py

Sources: ``demo`` (the seeded simulator), ``dump`` (RS_/RC_ files, streamed), ``praw`` (live
listings, or rehydration of the published ids in ``collect.praw.ids_file``). Ids in ``takedown.txt``
are removed before anything is written. Outputs ``data/raw/`` (RS.parquet submissions, RC.parquet
comments, both sorted by id, in the fixed schema of ``redditess.io.RAW_SCHEMA``, zstd; truth.parquet,
the demo simulator's hidden truth, empty for real sources, read with ``redditess.io.read_truth``;
report.json, the line accounting), ``data/dumps_manifest.json`` (path, size and SHA-256
of every dump file read, checked against ``collect.dump.sha256sums`` when set; empty for other
sources) and ``metrics/collect.json``. ``data/raw`` names no file, so a renamed dump with the same
content leaves it unchanged: the report names a malformed line or a damaged file by the first 16
hex digits of the file's SHA-256 (``sha256:<hex>:<line>``; the manifest maps them to paths), and
stderr names it by its path. Dump files are read ``collect.workers`` at a time, one process each.

Every record is minimised, its author pseudonymised (salt from ``$REDDITESS_SALT``; its keyed
fingerprint goes to report.json so later stages can check they use the same salt) and its text
scrubbed of personal data before it is written (see ``redditess.privacy``). Comments on a parent
cycle (their own parent, or ``a -> b -> a``, within one thread) are dropped and counted; cycles and
taken-down subtrees are found one thread at a time, so memory stays flat in the number of records
(a comment whose parent lies in another thread is left to threads, which counts it as detached).
Dump records wait in a SQLite store in the stage's scratch folder inside the workspace, removed
when the stage ends (or at its next start after a kill).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from redditess.config import load_params
from redditess.io import TRUTH_SCHEMA, RawWriter, atomic_path, dumps, write_json, write_metrics
from redditess.privacy import Policy, anonymize, policy_from_config, salt_fingerprint, salt_from_env
from redditess.runtime import scratch_dir, stage
from redditess.sources import demo, dump, live, manifest
from redditess.takedown import comment_cycles, load_takedown, removed_comments

RAW = Path("data/raw")


def _write(path: Path, rows: Iterable[dict], drop: set[str], salt: str, scrub_pii: bool, policy: Policy) -> tuple[int, int]:
    """Write the records not taken down, each minimised, pseudonymised and scrubbed."""
    kept = dropped = 0
    with RawWriter(path) as out:
        for r in rows:
            if r["id"] in drop:
                dropped += 1
                continue
            out.write(anonymize(r, salt, scrub_pii, policy))
            kept += 1
    return kept, dropped


@stage
def main() -> None:
    params = load_params()
    cfg = params.collect
    takedown = load_takedown("takedown.txt")
    salt = salt_from_env(cfg.salt_env, cfg.source)
    # the subreddits the study collects may be named in any text; other small ones are scrubbed
    policy = policy_from_config(cfg.privacy, [*cfg.demo.subreddits, *cfg.dump.subreddits, *cfg.praw.subreddits])
    report: dict = {"source": cfg.source, "salt_fingerprint": salt_fingerprint(salt)}
    counts: dict[str, int] = {}
    truth: list[dict] = []
    scratch = scratch_dir()  # inside the workspace; runtime.stage removes it
    files: list[dict] = []
    if cfg.source == "dump":
        files = manifest.build_manifest(dump.resolve_paths(cfg.dump.paths), Path(cfg.dump.root), cfg.workers)
        if cfg.dump.sha256sums:
            manifest.verify(files, Path(cfg.dump.sha256sums))
        store = dump.RecordStore(scratch / "records.sqlite")
        root = Path(cfg.dump.root).resolve()
        sha = {e["path"]: e["sha256"] for e in files}
        labels = {str(p): f"sha256:{sha[p.resolve().relative_to(root).as_posix()][:16]}"
                  for p in dump.resolve_paths(cfg.dump.paths)}
        stats = dump.read_dumps(cfg.dump, cfg.strict, store, workers=cfg.workers, labels=labels)
        counts = {f"lines_{k}": v for k, v in sorted(stats.lines.items())}
        report["malformed_examples"] = stats.malformed_examples
        report["damaged_files"] = stats.damaged

        def submissions() -> Iterator[dict]:
            return store.records("submission")

        def comments() -> Iterator[dict]:
            return store.records("comment")

        def threads() -> Iterator[list[dict]]:
            return store.threads()
    else:
        if cfg.source == "demo":
            out = demo.simulate(cfg.demo, params.seed)
            subs, coms, truth = out.submissions, out.comments, out.truth
        elif cfg.praw.rehydrate:
            subs, coms, status = live.rehydrate(cfg.praw, params.seed)
            counts = {f"rehydrate_{k}": v for k, v in sorted(status.items())}
        else:
            subs, coms, live_counts = live.collect_live(cfg.praw, params.seed)
            counts = dict(sorted(live_counts.items()))
        subs = sorted(subs, key=lambda r: r["id"])
        coms = sorted(coms, key=lambda r: r["id"])

        def submissions() -> Iterator[dict]:
            return iter(subs)

        def comments() -> Iterator[dict]:
            return iter(coms)

        def threads() -> Iterator[list[dict]]:
            by_link = sorted(coms, key=lambda c: (str(c.get("link_id")), c["id"]))
            return (list(g) for _, g in itertools.groupby(by_link, key=lambda c: str(c.get("link_id"))))

    # one thread at a time: a parent cycle or a taken-down subtree lies within its thread
    cyclic: set[str] = set()
    taken: set[str] = set()
    for thread in threads():
        cyclic |= comment_cycles(thread)
        taken |= removed_comments(thread, takedown)
    gone = taken | cyclic
    with atomic_path(RAW) as tmp:
        tmp.mkdir()
        n_subs, td_subs = _write(tmp / "RS.parquet", submissions(), takedown, salt, cfg.scrub_pii, policy)
        n_coms, td_coms = _write(tmp / "RC.parquet", comments(), gone, salt, cfg.scrub_pii, policy)
        truth = [t for t in truth if t["comment_id"] not in gone and t["post_id"] not in takedown]
        with RawWriter(tmp / "truth.parquet", TRUTH_SCHEMA) as out:
            for t in sorted(truth, key=lambda t: t["comment_id"]):
                out.write(t)
        report["counts"] = {"submissions": n_subs, "comments": n_coms, "takedown_submissions": td_subs,
                            "takedown_comments": td_coms - len(cyclic - taken),
                            "dropped_comment_cycle": len(cyclic), **counts}
        (tmp / "report.json").write_text(dumps(report) + "\n", encoding="utf-8")
    write_json("data/dumps_manifest.json", files)
    write_metrics("metrics/collect.json", report["counts"])


if __name__ == "__main__":
    main()
