"""The over-optimisation curve: proxy reward, gold and KL along an arm's optimisation.

Gao et al. (2023, "Scaling laws for reward model overoptimization") plot, for a policy optimised
against a learned (proxy) reward model, the proxy reward and the *gold* reward against the KL from
the starting policy: the proxy keeps rising while the gold one peaks and falls. The demo testbed has a
gold reward (``redditess.gold``: the rule that decided the simulated truth), so every RL stage and
best_of_n write the same table, one row per point:

* ``arm``, ``step`` (RL: policy updates done; best-of-n: n), ``kl`` (nats; RL: the mean
  log π/π_ref of the policy's own samples; best-of-n: the analytic log n − (n − 1)/n),
* ``proxy_reward`` (the reward model's mean score of the responses),
* ``gold_score`` (the share of the oracle's checks passed) and ``gold_rate`` (the share effective),
  NaN where the posts are not the testbed's (real data has no gold; the independent judges decide there).

The points are measured on the same ``overopt.posts`` validation posts for every arm and replicate
(:func:`curve_posts`), never on test posts, so a stage that keeps its best checkpoint by the curve
would not peek at the test set. ``plots/<arm>_curve/<i>.csv`` holds them; ``dvc plots show`` draws
gold and proxy against KL.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

COLUMNS = ["arm", "step", "kl", "proxy_reward", "gold_score", "gold_rate"]
HEALTH = ["truncated_share", "mode_sentence_share", "mean_words"]
"""An RL stage's probes also record the health of the samples (``redditess.diagnostics``): the share cut
off mid-sentence, the share containing the most common sentence, and the mean length in words."""


def curve_posts(n_posts: int, seed: int) -> pd.DataFrame:
    """``n_posts`` validation posts (seeded, sorted): post_id, post_title, post_body."""
    from redditess.io import read_table

    posts = read_table("data/split/val.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    posts = posts.sort_values("post_id").reset_index(drop=True)
    if len(posts) > n_posts:
        posts = posts.iloc[np.sort(np.random.default_rng(seed).permutation(len(posts))[:n_posts])].reset_index(drop=True)
    return posts


def gold_columns(prompts: list[str], responses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(gold_score, gold effective) per response, NaN where the post is not the testbed's."""
    from redditess.gold import judge

    verdicts = [judge(p, r) for p, r in zip(prompts, responses, strict=True)]
    score = np.array([np.nan if v is None else v.score for v in verdicts])
    rate = np.array([np.nan if v is None else float(v.effective) for v in verdicts])
    return score, rate


def best_of_n_kl(n: int) -> float:
    """The KL of best-of-n sampling from its base policy, log n − (n − 1)/n (Stiennon et al., 2020;
    exact for a continuous reward, an upper bound otherwise)."""
    return math.log(n) - (n - 1) / n


def point(arm: str, step: int, kl: float, proxy: np.ndarray, gold_score: np.ndarray, gold_rate: np.ndarray) -> dict:
    nanmean = (lambda a: float(np.nanmean(a)) if np.isfinite(a).any() else float("nan"))  # noqa: E731
    return {"arm": arm, "step": int(step), "kl": float(kl), "proxy_reward": float(np.mean(proxy)) if len(proxy) else float("nan"),
            "gold_score": nanmean(gold_score), "gold_rate": nanmean(gold_rate)}


def probe_steps(updates: int, probes: int) -> list[int]:
    """Evenly spaced update counts (1..updates, the last included) at which an RL stage scores its
    policy; 0 (the starting policy) is always scored too."""
    if updates <= 0:
        return [0]
    return sorted({0, *(int(round(updates * k / probes)) for k in range(1, probes + 1))})


class CurveProbe:
    """Scores an RL stage's policy along training: at update counts ``steps`` (and before the first),
    one sample per curve post with generate's settings; proxy = the reward model's score, gold =
    :func:`gold_columns`, KL = mean log π/π_ref of the samples under the policy and the frozen SFT
    reference. The trainer's random state is saved and restored around each probe, so training is
    the same with or without it. Use :meth:`callback` as a ``transformers`` callback; ``rows`` holds
    the points (:data:`COLUMNS`)."""

    def __init__(self, arm: str, tok, posts: pd.DataFrame, max_prompt_tokens: int, reward_model, reward_max_length: int,
                 ref_model, gen_cfg, seed: int, steps: list[int]):
        from redditess.lm import query_ids
        from redditess.split import prompt_text

        self.arm, self.tok, self.rm, self.rm_max_length, self.ref = arm, tok, reward_model, reward_max_length, ref_model
        self.prompts = query_ids(tok, posts, max_prompt_tokens)
        self.texts = [prompt_text(r) for r in posts.itertuples()]
        self.gen_cfg, self.seed, self.steps, self.rows = gen_cfg, seed, set(steps), []

    def measure(self, policy, step: int) -> None:
        import random

        import torch

        from redditess.lm import reward_scores
        from redditess.sampling import logprobs, sample

        state = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        was_training = policy.training
        policy.eval()
        try:
            texts, ids = sample(policy, self.tok, self.prompts, self.gen_cfg, self.seed, desc=f"probe {self.arm}@{step}")
            own = logprobs(policy, self.tok.pad_token_id, self.prompts, ids)
            ref = logprobs(self.ref, self.tok.pad_token_id, self.prompts, ids)
            proxy = reward_scores(self.rm, self.tok, [p + r for p, r in zip(self.prompts, ids, strict=True)], self.rm_max_length)
        finally:
            policy.train(was_training)
            random.setstate(state[0])
            np.random.set_state(state[1])
            torch.set_rng_state(state[2])
        from redditess.diagnostics import mode_sentence_share, truncated

        responses = [t.strip() for t in texts]
        gold_score, gold_rate = gold_columns(self.texts, responses)
        row = point(self.arm, step, float(np.mean(np.subtract(own, ref))), proxy, gold_score, gold_rate)
        row.update(truncated_share=float(np.mean([truncated(r) for r in responses])),
                   mode_sentence_share=mode_sentence_share(responses)[0],
                   mean_words=float(np.mean([len(r.split()) for r in responses])))
        self.rows.append(row)

    def callback(self, policy_of):
        """A ``transformers.TrainerCallback`` that measures at the start and at every probe step;
        ``policy_of(model)`` finds the policy inside the trainer's model (PPO wraps it with the value head)."""
        from transformers import TrainerCallback

        probe = self

        class _Probe(TrainerCallback):
            def on_train_begin(self, args, state, control, model=None, **kwargs):
                probe.measure(policy_of(model), 0)

            def on_step_end(self, args, state, control, model=None, **kwargs):
                if state.global_step in probe.steps and state.global_step not in {r["step"] for r in probe.rows}:
                    probe.measure(policy_of(model), state.global_step)

        return _Probe()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS + HEALTH).sort_values("step").reset_index(drop=True)
