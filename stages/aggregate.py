"""Stage aggregate: the ensemble label of every comment, each labeler's reliability, the golden subset.

    dvc repro aggregate        # or: python stages/aggregate.py

Reads every labeler's votes under ``data/votes/`` (the offline labelers and any LLM judges); writes
``data/labels/ensemble.parquet`` (post_id, comment_id, label, golden, each labeler's vote, the
Dawid-Skene posterior) and ``metrics/aggregate.json`` (coverage, rates, per-labeler sensitivity and
specificity estimated by Dawid-Skene, per voter: with ``aggregate.merge_judges`` the LLM judges of
one family, or whose errors correlate, vote as one, and the metrics name the merged voters; with the
demo source, κ/accuracy of the ensemble and of each labeler against the simulator's hidden truth).
"""

from __future__ import annotations

from pathlib import Path

from redditess.aggregate import aggregate, summary, voters, votes_matrix
from redditess.config import load_params
from redditess.io import read_table, write_metrics, write_table
from redditess.runtime import derive_seed, stage
from redditess.validity import read_truth, truth_agreement


@stage
def main() -> None:
    params = load_params()
    files = sorted(Path("data/votes").glob("*.parquet"))
    labels = [read_table(f, ["post_id", "comment_id", "labeler", "label"]) for f in files]
    families = {f"llm_{j.name}": j.family or j.model for j in params.label.judges}
    wide = votes_matrix(labels)
    ens, reliability = aggregate(wide, params.aggregate, derive_seed(params.seed, "aggregate"), families)
    write_table("data/labels/ensemble.parquet", ens, ["post_id", "comment_id"])
    # The demo simulator's hidden truth (empty for real data) makes the labels falsifiable.
    write_metrics("metrics/aggregate.json", {**summary(ens, reliability, voters(wide, params.aggregate, families)),
                                             **truth_agreement(ens, read_truth(Path("data/raw/truth.jsonl")))})


if __name__ == "__main__":
    main()
