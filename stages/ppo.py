"""Stage ppo: align the SFT policy to the reward model with PPO (trl.experimental.ppo, trl 1.12).

    dvc repro ppo@0      # or: python stages/ppo.py 0   (replicate 0 of params.seeds)

Policy and frozen reference start from the same replicate's ``models/sft/<i>``; reward and value
models from ``models/reward_model/<i>`` (same tokenizer, as trl's PPO requires). Prompts are the
training posts, pre-tokenized. Writes ``models/ppo/<i>/``, ``metrics/ppo/<i>.json`` and
``plots/ppo/<i>.csv`` (reward, KL, losses per update).
"""

from __future__ import annotations

import pandas as pd

from redditess.config import load_params
from redditess.io import read_table, write_csv, write_metrics
from redditess.replicates import metrics_file, model_dir, plot_file, replicate_from_argv, replicate_seed
from redditess.runtime import seed_everything, stage

CURVE = ["objective/scores", "objective/kl", "objective/rlhf_reward", "loss/policy_avg", "loss/value_avg", "objective/entropy"]


@stage
def main() -> None:
    from datasets import Dataset
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    from redditess.lm import load_tokenizer, query_ids
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
    tok = load_tokenizer(sft_dir)
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
        num_sample_generations=0, missing_eos_penalty=1.0,
    )
    trainer = PPOTrainer(args=args, processing_class=tok, model=policy, ref_model=ref, reward_model=reward,
                         train_dataset=dataset, value_model=value, peft_config=lora_config(training))
    trainer.train()
    save_trained(trainer.policy_model, tok, model_dir("ppo", replicate))
    if not is_main_process():
        return

    rows = [{"episode": r["episode"], **{k.replace("/", "_"): r[k] for k in CURVE}}
            for r in trainer.state.log_history if "episode" in r and all(k in r for k in CURVE)]
    curve = pd.DataFrame(rows, columns=["episode"] + [k.replace("/", "_") for k in CURVE])
    first, last = (curve.iloc[: max(1, len(curve) // 4)], curve.iloc[-max(1, len(curve) // 4):]) if len(curve) else (curve, curve)
    write_metrics(metrics_file("ppo", replicate), {
        "updates": len(curve),
        "episodes": cfg.total_episodes,
        "reward_first_quarter": float(first.objective_scores.mean()) if len(curve) else float("nan"),
        "reward_last_quarter": float(last.objective_scores.mean()) if len(curve) else float("nan"),
        "kl_last_quarter": float(last.objective_kl.mean()) if len(curve) else float("nan"),
        "reward_gain": float(last.objective_scores.mean() - first.objective_scores.mean()) if len(curve) else float("nan"),
    })
    write_csv(plot_file("ppo", replicate), curve, ["episode"])


if __name__ == "__main__":
    main()
