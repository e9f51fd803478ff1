"""Train / validation / test split by post (no post in two splits), stratified and seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from redditess.config import SplitConfig
from redditess.runtime import InputError


def split_posts(ens: pd.DataFrame, cfg: SplitConfig, seed: int) -> pd.Series:
    """Map each post_id to train/val/test.

    Posts are stratified by whether they hold both an effective and an ineffective comment (the
    posts that yield preference pairs) and by their majority label, then shuffled with ``seed``
    and cut by the configured fractions inside each stratum.
    """
    if not (0 < cfg.train < 1 and 0 <= cfg.val < 1 and cfg.train + cfg.val < 1):
        raise InputError(f"params.yaml: split.train and split.val need 0 < train, 0 <= val, train + val < 1; got {cfg.train}, {cfg.val}")
    labeled = ens[ens["label"].notna()]
    per_post = labeled.groupby("post_id")["label"].agg(
        n_eff=lambda s: int((s == 1).sum()), n_ineff=lambda s: int((s == 0).sum())
    )
    stratum = (per_post.n_eff > 0) & (per_post.n_ineff > 0)
    stratum = stratum.astype(int) * 2 + (per_post.n_eff >= per_post.n_ineff).astype(int)
    rng = np.random.default_rng(seed)
    assignment: dict[str, str] = {}
    for key in sorted(stratum.unique()):
        posts = np.array(sorted(stratum.index[stratum == key]))
        rng.shuffle(posts)
        n_train = int(round(cfg.train * len(posts)))
        n_val = int(round(cfg.val * len(posts)))
        for i, post in enumerate(posts):
            assignment[post] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return pd.Series(assignment, name="split").sort_index()


def judge_posts(train_posts: list[str], share: float, seed: int) -> set[str]:
    """The seeded ``share`` of the (sorted) training posts held out for the evaluation judge."""
    if not 0 <= share < 1:
        raise InputError(f"params.yaml: split.judge_share must be in [0, 1), got {share}")
    posts = np.array(sorted(train_posts))
    rng = np.random.default_rng(seed)
    return set(posts[rng.permutation(len(posts))[: int(round(share * len(posts)))]].tolist())


def second_judge_posts(train_posts: list[str], first_judge: set[str], share: float, seed: int) -> set[str]:
    """The seeded ``share`` of the training posts (counted over all of them) held out for the second
    judge, drawn from those the first judge does not hold: disjoint from the first judge's posts and
    from the policy's (the rest)."""
    if not 0 <= share < 1:
        raise InputError(f"params.yaml: split.second_judge_share must be in [0, 1), got {share}")
    rest = np.array(sorted(set(train_posts) - first_judge))
    n = min(len(rest), int(round(share * len(train_posts))))
    rng = np.random.default_rng(seed)
    return set(rest[rng.permutation(len(rest))[:n]].tolist())


def preference_pairs(rows: pd.DataFrame, max_per_post: int, seed: int, cross_post: bool = False) -> pd.DataFrame:
    """Same-post pairs (effective comment preferred over an ineffective one), seeded sample.

    With ``cross_post`` (dyadic threads: one comment per post, so no same-post pair), a post with
    effective comments but no ineffective one pairs each of them with an ineffective comment drawn
    from another post of the same rows, as the rejected answer to this post."""
    rng = np.random.default_rng(seed)
    out = []
    all_bad = rows[rows.label == 0].sort_values(["post_id", "comment_id"])
    for post_id, group in rows.groupby("post_id", sort=True):
        good = group[group.label == 1].sort_values("comment_id")
        bad = group[group.label == 0].sort_values("comment_id")
        if cross_post and len(good) and not len(bad):
            others = all_bad[all_bad.post_id != post_id]
            if len(others):
                bad = others.iloc[[int(rng.integers(len(others)))]]
        pairs = [(g, b) for g in range(len(good)) for b in range(len(bad))]
        if not pairs:
            continue
        take = rng.permutation(len(pairs))[:max_per_post]
        for k in sorted(take):
            g, b = pairs[k]
            out.append(dict(post_id=post_id, prompt=prompt_text(good.iloc[g]),
                            chosen=good.iloc[g].comment_body, rejected=bad.iloc[b].comment_body,
                            chosen_id=good.iloc[g].comment_id, rejected_id=bad.iloc[b].comment_id))
    return pd.DataFrame(out, columns=["post_id", "prompt", "chosen", "rejected", "chosen_id", "rejected_id"])


def prompt_text(row) -> str:
    """The text a model answers: the post as the help-seeker wrote it (edits removed)."""
    return f"{row.post_title}\n{row.post_body}".strip()
