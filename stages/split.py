"""Stage split: labeled comments into train / val / test by post, plus preference pairs.

    dvc repro split        # or: python stages/split.py

Writes ``data/split/{train,val,test}.parquet`` (labeled units with their split),
``data/split/judge_train.parquet`` (the training posts held out for the evaluation judge:
``split.judge_share`` of them, seeded, disjoint from the posts the policy, reward model, DPO and PPO
learn from), ``data/split/second_judge_train.parquet`` (``split.second_judge_share`` of the training
posts, seeded, disjoint from both: the second judge's, ``redditess.second_judge``),
``data/split/pairs_*.parquet`` (same-post effective > ineffective pairs) and ``metrics/split.json``.
Posts move in duplicate groups (``redditess.dedup``: posts sharing an exact or near-duplicate post or
comment text), so no text lies in two splits; the report counts the groups merged, the share of
labeled comments whose normalised text is unique, and the share of test comments whose normalised
text occurs in another split (0 unless a text is shorter than ``split.dedup_min_words``).
Crisis posts (``redditess.crisis``) are flagged (``crisis`` column) and, with
``crisis.exclude_from_training``, kept out of train, judge_train and second_judge_train;
``data/split/crisis.parquet`` holds every crisis post no model trains on, the crisis lane's evaluation set.
"""

from __future__ import annotations

from redditess.baselines import longer_wins_accuracy
from redditess.config import load_params
from redditess.dedup import duplicate_groups, normalise_text
from redditess.guards import require_per_class, require_two_classes
from redditess.io import atomic_path, read_table, write_metrics, write_table
from redditess.runtime import InputError, derive_seed, stage
from redditess.split import judge_posts, preference_pairs, prompt_text, second_judge_posts, split_posts

TRAINING_SPLITS = ["train", "judge_train", "second_judge_train"]  # the splits some model learns from


def text_overlap(rows) -> dict[str, float]:
    """How distinct the labeled comments' texts are, and how many test comments have their
    normalised text in another split (the leak the duplicate groups prevent)."""
    norm = rows.comment_body.map(normalise_text)
    counts = norm.value_counts()
    test = rows.split == "test"
    elsewhere = set(norm[~test])
    return {"distinct_text_share": float((norm.map(counts) == 1).mean()) if len(rows) else float("nan"),
            "test_text_in_other_split_share": float(norm[test].isin(elsewhere).mean()) if test.any() else float("nan")}


@stage
def main() -> None:
    params = load_params()
    from redditess.crisis import compile_lexicon, detect

    units = read_table("data/threads.parquet", ["post_id", "comment_id", "post_title", "post_body", "comment_body"])
    ens = read_table("data/labels/ensemble.parquet", ["post_id", "comment_id", "label", "golden"])
    rows = units.merge(ens[["post_id", "comment_id", "label", "golden"]], on=["post_id", "comment_id"])
    rows = rows[rows["label"].notna()].copy()
    require_two_classes(rows["label"], "split", "data/labels/ensemble.parquet",
                        f"aggregate labeled {len(rows)} of {len(ens)} comments; see metrics/aggregate.json")
    try:
        lexicon = compile_lexicon(params.crisis.categories)
    except ValueError as exc:
        raise InputError(f"params.yaml: crisis.categories: {exc}") from None
    rows["crisis"] = [detect(t, b, lexicon) for t, b in zip(rows.post_title, rows.post_body, strict=True)]
    posts = rows.drop_duplicates("post_id")
    groups, dedup = duplicate_groups(posts.post_id.tolist() + rows.post_id.tolist(),
                                     [prompt_text(r) for r in posts.itertuples()] + rows.comment_body.tolist(),
                                     params.split.near_duplicate_threshold, params.split.dedup_min_words,
                                     derive_seed(params.seed, "split:dedup"))
    assignment = split_posts(ens, params.split, derive_seed(params.seed, "split"), groups)
    rows["split"] = rows["post_id"].map(assignment)
    require_two_classes(rows.loc[rows.split == "train", "label"], "split", "the train split",
                        f"split.train = {params.split.train} of {rows.post_id.nunique()} labeled posts")
    held = judge_posts(sorted(rows.post_id[rows.split == "train"].unique()), params.split.judge_share,
                       derive_seed(params.seed, "split:judge"), groups)
    rows.loc[rows.post_id.isin(held), "split"] = "judge_train"
    second = second_judge_posts(sorted(rows.post_id[rows.split.isin(["train", "judge_train"])].unique()), held,
                                params.split.second_judge_share, derive_seed(params.seed, "split:second_judge"), groups)
    rows.loc[rows.post_id.isin(second), "split"] = "second_judge_train"
    # Each model's training split holds enough of both classes (after crisis posts leave training below).
    trained = ~rows.crisis if params.crisis.exclude_from_training else rows.crisis | True
    for name, model in (("judge_train", "classifier (the evaluation judge)"), ("train", "reward model and DPO")):
        if name == "judge_train" and not held:
            continue  # judge_share 0: the judge trains on `train`, checked next
        part = rows[(rows.split == name) & trained]
        require_per_class(part.label, params.split.min_per_class, "split", f"the {name} split", model)
    crisis_posts = set(rows.post_id[rows.crisis])
    metrics: dict[str, float] = {"crisis_posts": len(crisis_posts), "crisis_posts_excluded_from_training": 0,
                                 **dedup, **text_overlap(rows)}
    training = rows.split.isin(TRAINING_SPLITS)
    if params.crisis.exclude_from_training:
        metrics["crisis_posts_excluded_from_training"] = int(rows.post_id[training & rows.crisis].nunique())
        crisis_eval = rows[rows.crisis]
        rows = rows[~(training & rows.crisis)]
    else:
        crisis_eval = rows[rows.crisis & ~training]
    # The crisis lane's posts: every crisis post no model trained on (all of them by default), so the
    # safety comparison rests on more than the few crisis posts the test split happens to hold.
    metrics["crisis_eval_posts"] = int(crisis_eval.post_id.nunique())
    with atomic_path("data/split") as tmp:
        write_table(tmp / "crisis.parquet", crisis_eval, ["post_id", "comment_id"])
        for name in ("train", "judge_train", "second_judge_train", "val", "test"):
            # judge_share 0: the judge shares the policy's training posts (the old, sibling design).
            part = rows[rows.split == ("train" if name == "judge_train" and not held else name)]
            write_table(tmp / f"{name}.parquet", part, ["post_id", "comment_id"])
            pairs = preference_pairs(part, params.reward_model.max_pairs_per_post, derive_seed(params.seed, f"pairs:{name}"),
                                     params.split.cross_post_pairs)
            write_table(tmp / f"pairs_{name}.parquet", pairs, ["post_id", "chosen_id", "rejected_id"])
            metrics[f"{name}_comments"] = len(part)
            metrics[f"{name}_posts"] = int(part.post_id.nunique())
            metrics[f"{name}_effective_rate"] = float(part.label.astype(float).mean()) if len(part) else 0.0
            metrics[f"{name}_not_effective_comments"] = int((part.label.astype(int) == 0).sum())
            metrics[f"{name}_pairs"] = len(pairs)
            # The length-only reward on the same pairs: the bar a reward model and DPO must clear.
            metrics[f"baseline_longer_wins_{name}_pairs"] = longer_wins_accuracy(pairs.chosen.tolist(), pairs.rejected.tolist())
    write_metrics("metrics/split.json", metrics)


if __name__ == "__main__":
    main()
