"""Stage collect: raw Reddit records (Pushshift format) from the configured source.

    dvc repro collect        # or: python stages/collect.py

Outputs ``data/raw/`` (RS.ndjson submissions, RC.ndjson comments, sorted by id; truth.jsonl, the
demo simulator's hidden truth, empty for real sources; report.json) and ``metrics/collect.json``.
"""

from __future__ import annotations

from pathlib import Path

from redditess.config import load_params
from redditess.io import atomic_path, dumps, write_metrics
from redditess.runtime import stage
from redditess.sources import demo, dump, live

RAW = Path("data/raw")


@stage
def main() -> None:
    params = load_params()
    cfg = params.collect
    truth: list[dict] = []
    counts: dict[str, int] = {}
    report: dict = {"source": cfg.source}
    if cfg.source == "demo":
        out = demo.simulate(cfg.demo, params.seed)
        submissions, comments, truth = out.submissions, out.comments, out.truth
    elif cfg.source == "dump":
        submissions, comments, stats = dump.read_dumps(cfg.dump, cfg.strict)
        counts = {f"lines_{k}": v for k, v in sorted(stats.lines.items())}
        report["malformed_examples"] = stats.malformed_examples
        report["files"] = [str(p) for p in dump.resolve_paths(cfg.dump.paths)]
    else:
        submissions, comments = live.collect_live(cfg.praw)

    submissions = sorted(submissions, key=lambda r: r["id"])
    comments = sorted(comments, key=lambda r: r["id"])
    truth = sorted(truth, key=lambda r: r["comment_id"])
    report["counts"] = {"submissions": len(submissions), "comments": len(comments), **counts}
    with atomic_path(RAW) as tmp:
        tmp.mkdir()
        for name, rows in (("RS.ndjson", submissions), ("RC.ndjson", comments), ("truth.jsonl", truth)):
            with open(tmp / name, "w", encoding="utf-8") as fh:
                fh.writelines(dumps(r) + "\n" for r in rows)
        (tmp / "report.json").write_text(dumps(report) + "\n", encoding="utf-8")
    write_metrics("metrics/collect.json", report["counts"])


if __name__ == "__main__":
    main()
