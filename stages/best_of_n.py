"""Stage best_of_n: SFT samples ranked by the reward model — the arm any RL policy has to beat.

    dvc repro best_of_n@0      # or: python stages/best_of_n.py 0   (replicate 0 of params.seeds)

For every post the arms answer (``redditess.arms.answered_posts``: the test posts and the crisis
lane), replicate ``i``'s SFT model draws ``max(best_of_n.n)`` samples with generate's sampling
settings; replicate ``i``'s reward model scores them, and arm ``best_of_<n>`` answers with the
highest-scoring of the first n (nested draws, so the arms differ only in n). No weights change: this
is Gao et al.'s (2023) KL-efficient baseline, whose KL from SFT is log n − (n − 1)/n.

The same is done on the over-optimisation curve's validation posts (``overopt.posts``) for n = 1, 2,
4, ..., max: proxy reward, gold and KL per n (``redditess.overopt``). Writes
``data/generations/best_of_n_<i>.parquet`` (post_id, model, response, kl_to_sft),
``plots/best_of_n_curve/<i>.csv`` and ``metrics/best_of_n/<i>.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from redditess.config import load_params
from redditess.io import write_csv, write_metrics, write_table
from redditess.replicates import metrics_file, model_dir, plot_file, replicate_from_argv, replicate_seed
from redditess.runtime import derive_seed, stage


def best_of(scores: np.ndarray, n: int) -> np.ndarray:
    """Per post (rows), the index of the highest score among the first ``n`` samples (first wins ties)."""
    return np.argmax(scores[:, :n], axis=1)


def sample_and_score(posts: pd.DataFrame, k: int, params, replicate: int, seed: int, device: str):
    """(texts [posts × k], reward-model scores [posts × k]) of SFT's samples."""
    from redditess.lm import load_tokenizer, query_ids, reward_scores, sequence_length
    from redditess.sampling import generate_transformers
    from redditess.training import load_model

    sft_dir = model_dir("sft", replicate)
    tok = load_tokenizer(sft_dir)
    prompts = query_ids(tok, posts, params.sft.max_prompt_tokens)
    texts, ids = generate_transformers(sft_dir, prompts, params.generate, seed, device, num_return_sequences=k)
    rm = load_model(model_dir("reward_model", replicate), params.training, kind="reward").to(device)
    rm.config.pad_token_id = tok.pad_token_id
    max_length = sequence_length(tok, params.sft.max_prompt_tokens, params.sft.max_response_tokens)
    seqs = [prompts[i // k] + ids[i] for i in range(len(ids))]
    scores = reward_scores(rm, tok, seqs, max_length)
    return np.array([t.strip() for t in texts], dtype=object).reshape(len(posts), k), scores.reshape(len(posts), k)


@stage
def main() -> None:
    import torch

    from redditess.arms import answered_posts
    from redditess.arms import best_of as arm_names
    from redditess.overopt import COLUMNS, best_of_n_kl, curve_posts, gold_columns, point
    from redditess.split import prompt_text

    params = load_params()
    replicate = replicate_from_argv(params.seeds)
    ns = sorted(params.best_of_n.n)
    k = ns[-1]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    seed = replicate_seed(params.seed, "best_of_n", replicate)
    posts = answered_posts(params.generate.max_posts, derive_seed(params.seed, "generate"))
    texts, scores = sample_and_score(posts, k, params, replicate, seed, device)
    rows = []
    for n, name in zip(ns, arm_names(ns), strict=True):
        pick = best_of(scores, n)
        rows += [dict(post_id=p, model=name, response=texts[i, j], kl_to_sft=best_of_n_kl(n))
                 for i, (p, j) in enumerate(zip(posts.post_id, pick, strict=True))]
    write_table(f"data/generations/best_of_n_{replicate}.parquet",
                pd.DataFrame(rows, columns=["post_id", "model", "response", "kl_to_sft"]), ["model", "post_id"])

    # The over-optimisation curve on validation posts: n = 1, 2, 4, ..., max(best_of_n.n).
    curve = curve_posts(params.overopt.posts, derive_seed(params.seed, "overopt"))
    ctexts, cscores = sample_and_score(curve, k, params, replicate, replicate_seed(params.seed, "best_of_n:curve", replicate), device)
    prompts = [prompt_text(r) for r in curve.itertuples()]
    points, n = [], 1
    while n <= k:
        pick = best_of(cscores, n)
        chosen = [ctexts[i, j] for i, j in enumerate(pick)]
        gold_score, gold_rate = gold_columns(prompts, chosen)
        points.append(point("best_of_n", n, best_of_n_kl(n), cscores[np.arange(len(curve)), pick], gold_score, gold_rate))
        n = n * 2 if n * 2 <= k or n == k else k
    write_csv(plot_file("best_of_n_curve", replicate), pd.DataFrame(points, columns=COLUMNS), ["step"])
    write_metrics(metrics_file("best_of_n", replicate), {
        "posts": len(posts), "samples_per_post": k, "curve_posts": len(curve),
        **{f"proxy_reward_{name}": float(scores[np.arange(len(posts)), best_of(scores, n)].mean())
           for n, name in zip(ns, arm_names(ns), strict=True)},
        "proxy_reward_sample": float(scores.mean()),
    })


if __name__ == "__main__":
    main()
