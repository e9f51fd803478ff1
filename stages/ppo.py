"""Stage ppo: align the SFT policy to the reward model with PPO (trl.experimental.ppo, trl 1.12).

    dvc repro ppo@0      # or: python stages/ppo.py 0   (replicate 0 of params.seeds)

Policy and frozen reference start from the same replicate's ``models/sft/<i>``; reward and value
models from ``models/reward_model/<i>`` (same tokenizer, as trl's PPO requires). Prompts are the
training posts, pre-tokenized. trl's PPO runs through ``redditess.rl.AuditedPPOTrainer`` (its traps:
the score placed after EOS, trl issue #3750; EOS-only ``missing_eos_penalty``; padding == EOS;
unpenalised truncation: docs/online-rl.md), with every setting a ``ppo`` param.

Along training, ``redditess.overopt.CurveProbe`` scores the policy on the ``overopt.posts`` validation
posts (proxy reward, gold, KL to SFT, health). Writes ``models/ppo/<i>/``, ``metrics/ppo/<i>.json``,
``plots/ppo/<i>.csv`` (reward, KL, losses per update) and ``plots/ppo_curve/<i>.csv`` (the probes).
"""

from __future__ import annotations

import pandas as pd

from redditess.config import load_params
from redditess.io import read_table, write_csv, write_metrics
from redditess.replicates import metrics_file, model_dir, plot_file, replicate_from_argv, replicate_seed
from redditess.runtime import seed_everything, stage

CURVE = ["objective/scores", "objective/kl", "objective/rlhf_reward", "loss/policy_avg", "loss/value_avg", "objective/entropy",
         "val/num_eos_tokens"]


@stage
def main() -> None:
    from datasets import Dataset
    from trl.experimental.ppo import PPOConfig

    from redditess.lm import load_tokenizer, query_ids, sequence_length
    from redditess.overopt import CurveProbe, curve_posts, probe_steps
    from redditess.rl import audited_ppo_trainer, curve_summary, distinct_pad, quarter_means
    from redditess.runtime import derive_seed
    from redditess.training import (
        check_precision,
        check_trainer_args,
        is_main_process,
        load_model,
        lora_config,
        save_trained,
        trainer_config,
        with_lora,
    )

    params = load_params()
    cfg, sft, training = params.ppo, params.sft, params.training
    check_precision(training)
    check_trainer_args(PPOConfig, cfg.trainer_args, "ppo.trainer_args")
    replicate = replicate_from_argv(params.seeds)
    seed = replicate_seed(params.seed, "ppo", replicate)
    sft_dir, rm_dir = model_dir("sft", replicate), model_dir("reward_model", replicate)
    seed_everything(seed)
    train = read_table("data/split/train.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    tok = distinct_pad(load_tokenizer(sft_dir))
    dataset = Dataset.from_dict({"input_ids": query_ids(tok, train, sft.max_prompt_tokens)})

    policy = load_model(sft_dir, training)
    # With LoRA the reference is the policy with its adapters disabled (trl does this): no second copy.
    ref = None if training.lora.enabled else load_model(sft_dir, training)
    reward = load_model(rm_dir, training, kind="reward")
    value = with_lora(load_model(rm_dir, training, kind="reward"), training, "SEQ_CLS")
    for m in (policy, ref, reward, value):
        if m is not None:
            m.config.pad_token_id = tok.pad_token_id
    args = trainer_config(
        PPOConfig, seed, training, cfg.trainer_args, "ppo.trainer_args", epochs=None, batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate, total_episodes=cfg.total_episodes, num_ppo_epochs=cfg.num_ppo_epochs,
        num_mini_batches=1, local_rollout_forward_batch_size=cfg.batch_size,
        response_length=cfg.response_length, stop_token="eos", temperature=cfg.temperature, kl_coef=cfg.kl_coef,
        num_sample_generations=0, missing_eos_penalty=cfg.missing_eos_penalty, gamma=cfg.gamma, lam=cfg.lam,
        whiten_rewards=cfg.whiten_rewards, kl_estimator=cfg.kl_estimator,
    )
    Trainer = audited_ppo_trainer()
    trainer = Trainer(args=args, processing_class=tok, model=policy, ref_model=ref, reward_model=reward,
                      train_dataset=dataset, value_model=value, peft_config=lora_config(training),
                      value_warmup_updates=cfg.value_warmup_updates)
    probe = CurveProbe("ppo", tok, curve_posts(params.overopt.posts, derive_seed(params.seed, "overopt")), sft.max_prompt_tokens,
                       reward, sequence_length(tok, sft.max_prompt_tokens, sft.max_response_tokens),
                       ref if ref is not None else load_model(sft_dir, training), params.generate,
                       replicate_seed(params.seed, "rl:curve", replicate),
                       probe_steps(args.num_total_batches, params.overopt.probes))  # updates, set by the trainer
    trainer.add_callback(probe.callback(lambda m: m.policy))
    trainer.train()
    save_trained(trainer.policy_model, tok, model_dir("ppo", replicate))
    if not is_main_process():
        return

    names = [k.replace("/", "_") for k in CURVE]
    rows = [{"episode": r["episode"], **{n: r[k] for k, n in zip(CURVE, names, strict=True)}}
            for r in trainer.state.log_history if "episode" in r and all(k in r for k in CURVE)]
    curve = pd.DataFrame(rows, columns=["episode"] + names)
    curve["finished_share"] = curve.val_num_eos_tokens / args.batch_size
    scores, kl, finished = (curve[c].tolist() for c in ("objective_scores", "objective_kl", "finished_share"))
    (r0, r1), (_, kl1), (f0, f1) = quarter_means(scores), quarter_means(kl), quarter_means(finished)
    probes = probe.frame()
    write_metrics(metrics_file("ppo", replicate), {
        "updates": len(curve),
        "episodes": cfg.total_episodes,
        "value_warmup_updates": cfg.value_warmup_updates,
        "missing_eos_penalty": cfg.missing_eos_penalty,
        "reward_first_quarter": r0,
        "reward_last_quarter": r1,
        "kl_last_quarter": kl1,
        "reward_gain": r1 - r0,
        "finished_share_first_quarter": f0,
        "finished_share_last_quarter": f1,
        **curve_summary(probes),
    })
    write_csv(plot_file("ppo", replicate), curve, ["episode"])
    write_csv(plot_file("ppo_curve", replicate), probes, ["step"])


if __name__ == "__main__":
    main()
