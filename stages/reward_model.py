"""Stage reward_model: a scalar reward from the SFT model, trained on same-post preference pairs.

    dvc repro reward_model@0      # or: python stages/reward_model.py 0   (replicate 0 of params.seeds)

The model is a sequence classifier (one output) initialised from the same replicate's
``models/sft/<i>`` so it shares the policy's tokenizer, which trl's PPO requires. trl's RewardTrainer
fits it on (effective comment > ineffective comment of the same post). Writes
``models/reward_model/<i>/``, ``metrics/reward_model/<i>.json`` (held-out pairwise accuracy on the
test pairs with a CI over test posts, "the longer answer wins" on the same pairs, their paired
difference with its CI, and ``beats_baselines``: 1 only when both CIs clear their baseline) and ``plots/reward_model_loss/<i>.csv``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from redditess.baselines import beats_baselines, longer_wins_per_pair, paired_margin
from redditess.config import load_params
from redditess.guards import require_pairs
from redditess.io import read_table, write_csv, write_metrics
from redditess.lm import preference_rows, reward_rows, reward_scores
from redditess.replicates import metrics_file, model_dir, plot_file, replicate_from_argv, replicate_seed
from redditess.runtime import seed_everything, stage
from redditess.stats import cluster_bootstrap_ci

log = logging.getLogger("reward_model")


@stage
def main() -> None:
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from redditess.lm import load_tokenizer, sequence_length
    from redditess.training import (
        check_precision,
        check_trainer_args,
        is_main_process,
        load_model,
        log_history_rows,
        save_trained,
        trainer_config,
        with_lora,
    )

    params = load_params()
    cfg, sft, training = params.reward_model, params.sft, params.training
    check_precision(training)
    check_trainer_args(RewardConfig, cfg.trainer_args, "reward_model.trainer_args")
    replicate = replicate_from_argv(params.seeds)
    seed = replicate_seed(params.seed, "reward_model", replicate)
    sft_dir = model_dir("sft", replicate)
    seed_everything(seed)
    units = read_table("data/threads.parquet", ["post_id", "post_title", "post_body"])
    tok = load_tokenizer(sft_dir)
    max_length = sequence_length(tok, sft.max_prompt_tokens, sft.max_response_tokens)
    train = preference_rows(tok, read_table("data/split/pairs_train.parquet"), units, sft.max_prompt_tokens,
                            sft.max_response_tokens)
    test_pairs = read_table("data/split/pairs_test.parquet")
    test = preference_rows(tok, test_pairs, units, sft.max_prompt_tokens, sft.max_response_tokens)
    require_pairs(len(train), len(test), "reward_model")
    model = load_model(sft_dir, training, kind="reward")
    model.config.pad_token_id = tok.pad_token_id
    model = with_lora(model, training, "SEQ_CLS")  # the score head is trained in full (peft modules_to_save)
    args = trainer_config(RewardConfig, seed, training, cfg.trainer_args, "reward_model.trainer_args",
                          epochs=cfg.epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                          max_length=max_length)
    tok.padding_side = "right"
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(reward_rows(train)), processing_class=tok)
    trainer.train()
    tok.padding_side = "left"
    # Scored and saved from every process (under ZeRO-3 a forward pass is a collective); the main
    # process writes.
    chosen = reward_scores(model, tok, [r["prompt_ids"] + r["chosen_ids"] for r in test], max_length)
    rejected = reward_scores(model, tok, [r["prompt_ids"] + r["rejected_ids"] for r in test], max_length)
    margin = chosen - rejected
    save_trained(model, tok, model_dir("reward_model", replicate))
    if not is_main_process():
        return
    # Against chance (0.5) and "the longer answer wins" on the same pairs, with CIs from resampling
    # test posts (a post's pairs share a prompt): accuracy's CI above 0.5, the paired difference above 0.
    rng = np.random.default_rng(replicate_seed(params.seed, "reward_model:bootstrap", replicate))
    posts = test_pairs.post_id.to_numpy()
    correct = (margin > 0).astype(float)
    longer = longer_wins_per_pair(test_pairs.chosen.tolist(), test_pairs.rejected.tolist())
    ci_low, ci_high = cluster_bootstrap_ci(lambda r: correct[r].mean(), posts, params.evaluate.bootstrap, rng)
    vs_longer = paired_margin(correct, longer, lambda s, r: s[r].mean(), posts, params.evaluate.bootstrap, rng,
                              "test_pairwise_accuracy_minus_longer_wins")
    beats, reason = beats_baselines({"chance (0.5)": ci_low - 0.5, '"the longer answer wins"': vs_longer[
        "test_pairwise_accuracy_minus_longer_wins_ci_low"]}, {"test pairs": len(test), "test posts": len(set(posts))})
    (log.info if beats else log.warning)("reward_model %d %s", replicate, reason)
    write_metrics(metrics_file("reward_model", replicate), {
        "test_pairs": len(test),
        "test_posts": len(set(posts)),
        "test_pairwise_accuracy": float(correct.mean()) if len(test) else float("nan"),
        "test_pairwise_accuracy_ci_low": ci_low,
        "test_pairwise_accuracy_ci_high": ci_high,
        "baseline_longer_wins_pairwise_accuracy": float(longer.mean()) if len(test) else float("nan"),
        **vs_longer,
        "beats_baselines": beats,
        "test_mean_margin": float(margin.mean()) if len(test) else float("nan"),
        "train_pairs": len(train),
        # RewardTrainer drops a pair whose longer side exceeds max_length (counted, not silent)
        "train_pairs_dropped_too_long": sum(max(len(r["chosen_ids"]), len(r["rejected_ids"])) > max_length
                                            for r in reward_rows(train)),
    })
    write_csv(plot_file("reward_model_loss", replicate),
              pd.DataFrame(log_history_rows(trainer.state.log_history, ["loss"]), columns=["step", "loss"]), ["step"])


if __name__ == "__main__":
    main()
