"""Stage rloo: align the SFT policy to the reward model with RLOO (trl 1.12's core ``RLOOTrainer``).

    dvc repro rloo@0      # or: python stages/rloo.py 0   (replicate 0 of params.seeds)

The second online RL arm, next to PPO (trl's PPO is experimental and gone after trl 1.12; RLOO is core).
Like ``stages/ppo.py`` it starts from the same replicate's ``models/sft/<i>`` (policy, and the frozen
reference of the KL penalty ``rloo.beta``), is rewarded by the same ``models/reward_model/<i>`` and
samples as many responses as PPO (``ppo.total_episodes``): ``rloo.num_generations`` per training post,
each baselined by the mean reward of the others (REINFORCE leave-one-out, Ahmadian et al. 2024). Its
reward is the reward model's score plus documented shaping terms, each reported in the metrics:

* ``rloo.unfinished_penalty``: minus this for a completion that does not end with EOS (PPO's
  ``missing_eos_penalty``);
* ``rloo.repetition_penalty``: trl's ``get_repetition_penalty_reward`` (minus this times the share of
  repeated token n-grams).

Rollouts use the project's prompt ids (``redditess.rl.pretokenized_rloo_trainer``) and a padding token
that is not EOS (``redditess.rl.distinct_pad``). Along training ``redditess.overopt.CurveProbe`` scores
the policy on the ``overopt.posts`` validation posts. Writes ``models/rloo/<i>/``,
``metrics/rloo/<i>.json``, ``plots/rloo/<i>.csv`` (reward terms, KL, lengths per update) and
``plots/rloo_curve/<i>.csv`` (the probes).
"""

from __future__ import annotations

import math

import pandas as pd

from redditess.config import load_params
from redditess.io import read_table, write_csv, write_metrics
from redditess.replicates import metrics_file, model_dir, plot_file, replicate_from_argv, replicate_seed
from redditess.runtime import derive_seed, seed_everything, stage

REWARDS = ["reward_model", "unfinished_penalty", "repetition_penalty_reward"]
CURVE = ["reward", "reward_std", "kl", "entropy", "completions/clipped_ratio", "completions/mean_length",
         *(f"rewards/{name}/mean" for name in REWARDS)]


@stage
def main() -> None:
    from accelerate import PartialState
    from datasets import Dataset
    from trl import RLOOConfig

    from redditess.lm import format_prompt, load_tokenizer, prompt_ids, sequence_length
    from redditess.overopt import CurveProbe, curve_posts, probe_steps
    from redditess.rl import curve_summary, distinct_pad, pretokenized_rloo_trainer, quarter_means, rloo_reward_funcs
    from redditess.training import (
        check_precision,
        check_trainer_args,
        is_main_process,
        load_model,
        lora_config,
        save_trained,
        trainer_config,
    )

    params = load_params()
    cfg, sft, training = params.rloo, params.sft, params.training
    check_precision(training)
    check_trainer_args(RLOOConfig, cfg.trainer_args, "rloo.trainer_args")
    replicate = replicate_from_argv(params.seeds)
    seed = replicate_seed(params.seed, "rloo", replicate)
    sft_dir, rm_dir = model_dir("sft", replicate), model_dir("reward_model", replicate)
    seed_everything(seed)
    train = read_table("data/split/train.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    tok = distinct_pad(load_tokenizer(sft_dir))
    # The dataset's prompt is a key (the rendered prompt text); the rollouts use its ids (one prompt path).
    keys = [format_prompt(tok, r.post_title, r.post_body, sft.max_prompt_tokens) for r in train.itertuples()]
    ids = {k: prompt_ids(tok, r.post_title, r.post_body, sft.max_prompt_tokens)
           for k, r in zip(keys, train.itertuples(), strict=True)}
    dataset = Dataset.from_dict({"prompt": keys})

    policy = load_model(sft_dir, training)
    policy.config.pad_token_id = tok.pad_token_id
    reward = load_model(rm_dir, training, kind="reward")
    reward.config.pad_token_id = tok.pad_token_id
    rm_max_length = sequence_length(tok, sft.max_prompt_tokens, sft.max_response_tokens)
    args = trainer_config(
        RLOOConfig, seed, training, cfg.trainer_args, "rloo.trainer_args", epochs=None, batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate, num_generations=cfg.num_generations, beta=cfg.beta,
        temperature=cfg.temperature, top_p=cfg.top_p, top_k=0, max_completion_length=cfg.max_completion_length,
        num_iterations=cfg.num_iterations, normalize_advantages=cfg.normalize_advantages, logging_steps=1,
        log_completions=False, max_steps=1,
    )
    # As many sampled responses as PPO: completions per update = batch × accumulation × processes.
    per_update = args.per_device_train_batch_size * args.gradient_accumulation_steps * PartialState().num_processes
    args.max_steps = math.ceil(params.ppo.total_episodes / per_update)
    Trainer = pretokenized_rloo_trainer()
    trainer = Trainer(model=policy, reward_funcs=rloo_reward_funcs(reward, tok, ids, rm_max_length, cfg), args=args,
                      train_dataset=dataset, processing_class=tok, peft_config=lora_config(training), prompt_ids=ids)
    ref = trainer.ref_model if trainer.ref_model is not None else load_model(sft_dir, training)
    probe = CurveProbe("rloo", tok, curve_posts(params.overopt.posts, derive_seed(params.seed, "overopt")), sft.max_prompt_tokens,
                       reward, rm_max_length, ref, params.generate, replicate_seed(params.seed, "rl:curve", replicate),
                       probe_steps(args.max_steps, params.overopt.probes))
    trainer.add_callback(probe.callback(lambda m: m))
    trainer.train()
    save_trained(trainer.model, tok, model_dir("rloo", replicate))
    if not is_main_process():
        return

    names = [k.replace("/", "_") for k in CURVE]
    rows = [{"step": r["step"], **{n: r.get(k, float("nan")) for k, n in zip(CURVE, names, strict=True)}}
            for r in trainer.state.log_history if "step" in r and "reward" in r]
    curve = pd.DataFrame(rows, columns=["step"] + names)
    rm_scores = curve["rewards_reward_model_mean"].tolist()
    (r0, r1), (_, kl1), (c0, c1) = (quarter_means(rm_scores), quarter_means(curve["kl"].tolist()),
                                    quarter_means(curve["completions_clipped_ratio"].tolist()))
    write_metrics(metrics_file("rloo", replicate), {
        "updates": len(curve),
        "episodes": args.max_steps * per_update,
        "num_generations": cfg.num_generations,
        "shaping_unfinished_penalty": cfg.unfinished_penalty,
        "shaping_repetition_penalty": cfg.repetition_penalty,
        "shaping_repetition_ngram": cfg.repetition_ngram,
        "reward_first_quarter": r0,
        "reward_last_quarter": r1,
        "reward_gain": r1 - r0,
        "kl_last_quarter": kl1,
        "unfinished_share_first_quarter": c0,
        "unfinished_share_last_quarter": c1,
        **{f"shaping_{name}_last_quarter": quarter_means(curve[f"rewards_{name}_mean"].tolist())[1]
           for name in REWARDS[1:]},
        "total_reward_last_quarter": quarter_means(curve["reward"].tolist())[1],
        **curve_summary(probe.frame()),
    })
    write_csv(plot_file("rloo", replicate), curve, ["step"])
    write_csv(plot_file("rloo_curve", replicate), probe.frame(), ["step"])


if __name__ == "__main__":
    main()
