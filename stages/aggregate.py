"""Stage aggregate: the ensemble label of every comment and the golden subset.

    dvc repro aggregate        # or: python stages/aggregate.py

Writes ``data/labels/ensemble.parquet`` (post_id, comment_id, label, golden, each labeler's vote)
and ``metrics/aggregate.json``.
"""

from __future__ import annotations

from redditess.aggregate import aggregate, summary, votes_matrix
from redditess.config import load_params
from redditess.io import read_table, write_metrics, write_table
from redditess.runtime import stage


@stage
def main() -> None:
    cfg = load_params().aggregate
    labels = [read_table(f"data/labels/{name}.parquet", ["comment_id", "label"]) for name in cfg.precedence]
    ens = aggregate(votes_matrix(labels), cfg)
    write_table("data/labels/ensemble.parquet", ens, ["post_id", "comment_id"])
    write_metrics("metrics/aggregate.json", summary(ens))


if __name__ == "__main__":
    main()
