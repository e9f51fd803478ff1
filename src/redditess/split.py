"""Train / validation / test split by post (no post in two splits), stratified and seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from redditess.config import SplitConfig
from redditess.runtime import InputError


def split_posts(ens: pd.DataFrame, cfg: SplitConfig, seed: int, groups: dict[str, str] | None = None) -> pd.Series:
    """Map each post_id to train/val/test.

    Posts move in their duplicate groups (``groups``: post -> group, :func:`redditess.dedup.duplicate_groups`;
    every post its own group when None), so no text lies in two splits. Groups are stratified by
    whether they hold both an effective and an ineffective comment (the posts that yield preference
    pairs) and by their majority label, then shuffled with ``seed`` and cut by the configured
    fractions inside each stratum."""
    if not (0 < cfg.train < 1 and 0 <= cfg.val < 1 and cfg.train + cfg.val < 1):
        raise InputError(f"params.yaml: split.train and split.val need 0 < train, 0 <= val, train + val < 1; got {cfg.train}, {cfg.val}")
    labeled = ens[ens["label"].notna()]
    groups = groups or {}
    group_of = labeled["post_id"].map(lambda p: groups.get(p, p))
    per_group = labeled.groupby(group_of)["label"].agg(
        n_eff=lambda s: int((s == 1).sum()), n_ineff=lambda s: int((s == 0).sum())
    )
    stratum = (per_group.n_eff > 0) & (per_group.n_ineff > 0)
    stratum = stratum.astype(int) * 2 + (per_group.n_eff >= per_group.n_ineff).astype(int)
    rng = np.random.default_rng(seed)
    by_group: dict[str, str] = {}
    for key in sorted(stratum.unique()):
        members = np.array(sorted(stratum.index[stratum == key]))
        rng.shuffle(members)
        n_train = int(round(cfg.train * len(members)))
        n_val = int(round(cfg.val * len(members)))
        for i, g in enumerate(members):
            by_group[g] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    posts = sorted(set(labeled["post_id"]))
    return pd.Series({p: by_group[groups.get(p, p)] for p in posts}, name="split").sort_index()


def _take_groups(candidates: list[str], n_posts: int, seed: int, groups: dict[str, str] | None) -> set[str]:
    """Whole duplicate groups of ``candidates``, in a seeded order, until ``n_posts`` posts are taken."""
    groups = groups or {}
    members: dict[str, list[str]] = {}
    for p in sorted(candidates):
        members.setdefault(groups.get(p, p), []).append(p)
    order = np.array(sorted(members))
    taken: set[str] = set()
    for i in np.random.default_rng(seed).permutation(len(order)):
        if len(taken) >= n_posts:
            break
        taken.update(members[order[i]])
    return taken


def judge_posts(train_posts: list[str], share: float, seed: int, groups: dict[str, str] | None = None) -> set[str]:
    """The seeded ``share`` of the training posts (whole duplicate groups) held out for the evaluation judge."""
    if not 0 <= share < 1:
        raise InputError(f"params.yaml: split.judge_share must be in [0, 1), got {share}")
    return _take_groups(train_posts, int(round(share * len(set(train_posts)))), seed, groups)


def second_judge_posts(train_posts: list[str], first_judge: set[str], share: float, seed: int,
                       groups: dict[str, str] | None = None) -> set[str]:
    """The seeded ``share`` of the training posts (counted over all of them; whole duplicate groups)
    held out for the second judge, drawn from those the first judge does not hold: disjoint from the
    first judge's posts and from the policy's (the rest)."""
    if not 0 <= share < 1:
        raise InputError(f"params.yaml: split.second_judge_share must be in [0, 1), got {share}")
    rest = sorted(set(train_posts) - first_judge)
    return _take_groups(rest, min(len(rest), int(round(share * len(set(train_posts))))), seed, groups)


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
