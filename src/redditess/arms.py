"""The arms every evaluation compares, and the comparisons it makes.

* ``TRAINED``: policies with weights of their own, answered by ``stages/generate.py`` from
  ``models/<arm>/<i>``: the base model the policy started from, SFT, DPO (the paper's method) and
  the online RL arms (``RL``).
* ``TRIVIAL``: policies that do nothing clever (``redditess.baselines``), answered by generate too:
  ``stock`` (the SFT targets' most common sentence for every post) and ``longest`` (the longest SFT
  target for every post).
* best-of-n arms (``best_of_<n>``, ``best_of_n.n`` in params): SFT samples ranked by the reward model
  (``stages/best_of_n.py``), the KL-efficient baseline an RL policy has to beat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRAINED = ("base", "sft", "dpo", "ppo", "rloo")
RL = ("ppo", "rloo")
TRIVIAL = ("stock", "longest")
ALIGNED = ("dpo", *RL)
"""The arms trained to prefer effective support (the crisis lane's non-inferiority claims are about them)."""


def best_of(n: list[int]) -> tuple[str, ...]:
    return tuple(f"best_of_{k}" for k in sorted(n))


def arms(n: list[int]) -> tuple[str, ...]:
    """Every arm, in the order the reports show them."""
    return ("base", *TRIVIAL, "sft", *best_of(n), "dpo", *RL)


def pairs(n: list[int]) -> tuple[tuple[str, str], ...]:
    """(a, b) comparisons a − b: SFT against the trivial policies, every aligned arm against SFT, every
    RL arm against the largest best-of-n, and DPO against the base and the largest best-of-n."""
    top = best_of(n)[-1]
    out = [("sft", "base"), ("sft", "stock"), ("sft", "longest"), ("dpo", "base"), ("dpo", "sft"), (top, "sft"),
           ("dpo", top)]
    for arm in RL:
        out += [(arm, "sft"), (arm, top), (arm, "dpo")]
    return tuple(out)


def answered_posts(max_posts: int, seed: int) -> pd.DataFrame:
    """The posts every arm answers: the test posts (``max_posts`` of them, seeded; the same draw for
    every replicate) and every post of the crisis lane. Columns post_id, post_title, post_body."""
    from redditess.io import read_table

    cols = ["post_id", "post_title", "post_body"]
    posts = read_table("data/split/test.parquet", cols).drop_duplicates("post_id")
    posts = posts.sort_values("post_id").reset_index(drop=True)
    if max_posts and len(posts) > max_posts:
        keep = np.sort(np.random.default_rng(seed).permutation(len(posts))[:max_posts])
        posts = posts.iloc[keep].reset_index(drop=True)
    crisis = read_table("data/split/crisis.parquet", cols).drop_duplicates("post_id")
    return pd.concat([posts, crisis]).drop_duplicates("post_id").sort_values("post_id").reset_index(drop=True)
