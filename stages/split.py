"""Stage split: labeled comments into train / val / test by post, plus preference pairs.

    dvc repro split        # or: python stages/split.py

Writes ``data/split/{train,val,test}.parquet`` (labeled units with their split),
``data/split/pairs_{train,val,test}.parquet`` (same-post effective > ineffective pairs) and
``metrics/split.json``.
"""

from __future__ import annotations

from redditess.config import load_params
from redditess.guards import require_two_classes
from redditess.io import atomic_path, read_table, write_metrics, write_table
from redditess.runtime import derive_seed, stage
from redditess.split import preference_pairs, split_posts


@stage
def main() -> None:
    params = load_params()
    units = read_table("data/threads.parquet", ["post_id", "comment_id", "comment_body"])
    ens = read_table("data/labels/ensemble.parquet", ["post_id", "comment_id", "label", "golden"])
    rows = units.merge(ens[["post_id", "comment_id", "label", "golden"]], on=["post_id", "comment_id"])
    rows = rows[rows["label"].notna()].copy()
    require_two_classes(rows["label"], "split", "data/labels/ensemble.parquet",
                        f"aggregate labeled {len(rows)} of {len(ens)} comments; see metrics/aggregate.json")
    assignment = split_posts(ens, params.split, derive_seed(params.seed, "split"))
    rows["split"] = rows["post_id"].map(assignment)
    require_two_classes(rows.loc[rows.split == "train", "label"], "split", "the train split",
                        f"split.train = {params.split.train} of {rows.post_id.nunique()} labeled posts")
    metrics: dict[str, float] = {}
    with atomic_path("data/split") as tmp:
        for name in ("train", "val", "test"):
            part = rows[rows.split == name]
            write_table(tmp / f"{name}.parquet", part, ["post_id", "comment_id"])
            pairs = preference_pairs(part, params.reward_model.max_pairs_per_post, derive_seed(params.seed, f"pairs:{name}"),
                                     params.split.cross_post_pairs)
            write_table(tmp / f"pairs_{name}.parquet", pairs, ["post_id", "chosen_id", "rejected_id"])
            metrics[f"{name}_comments"] = len(part)
            metrics[f"{name}_posts"] = int(part.post_id.nunique())
            metrics[f"{name}_effective_rate"] = float(part.label.astype(float).mean()) if len(part) else 0.0
            metrics[f"{name}_pairs"] = len(pairs)
    write_metrics("metrics/split.json", metrics)


if __name__ == "__main__":
    main()
