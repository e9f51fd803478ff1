"""Stage ppo: align the SFT policy to the reward model with PPO (trl.experimental.ppo, trl 1.12).

    dvc repro ppo        # or: python stages/ppo.py

Policy and frozen reference start from ``models/sft``; reward and value models from
``models/reward_model`` (same tokenizer, as trl's PPO requires). Prompts are the training posts,
pre-tokenized. Writes ``models/ppo/``, ``metrics/ppo.json`` and ``plots/ppo.csv`` (reward, KL,
losses per update).
"""

from __future__ import annotations

import pandas as pd

from redditess.config import load_params
from redditess.io import atomic_path, read_table, write_csv, write_metrics
from redditess.runtime import derive_seed, seed_everything, stage

CURVE = ["objective/scores", "objective/kl", "objective/rlhf_reward", "loss/policy_avg", "loss/value_avg", "objective/entropy"]


@stage
def main() -> None:
    import torch  # noqa: F401
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    from redditess.lm import format_prompt, load_tokenizer
    from redditess.training import common_args

    params = load_params()
    cfg, sft = params.ppo, params.sft
    seed = derive_seed(params.seed, "ppo")
    seed_everything(seed)
    train = read_table("data/split/train.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    tok = load_tokenizer("models/sft")
    prompts = [format_prompt(tok, r.post_title, r.post_body, sft.max_prompt_tokens) for r in train.itertuples()]
    dataset = Dataset.from_dict({"input_ids": [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]})

    policy = AutoModelForCausalLM.from_pretrained("models/sft")
    ref = AutoModelForCausalLM.from_pretrained("models/sft")
    reward = AutoModelForSequenceClassification.from_pretrained("models/reward_model", num_labels=1)
    value = AutoModelForSequenceClassification.from_pretrained("models/reward_model", num_labels=1)
    for m in (policy, ref, reward, value):
        m.config.pad_token_id = tok.pad_token_id
    base = common_args(seed, epochs=1, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate)
    base.pop("num_train_epochs")
    args = PPOConfig(
        **base, total_episodes=cfg.total_episodes, num_ppo_epochs=cfg.num_ppo_epochs, num_mini_batches=1,
        gradient_accumulation_steps=1, local_rollout_forward_batch_size=cfg.batch_size,
        response_length=cfg.response_length, stop_token="eos", temperature=cfg.temperature, kl_coef=cfg.kl_coef,
        num_sample_generations=0, missing_eos_penalty=1.0,
    )
    trainer = PPOTrainer(args=args, processing_class=tok, model=policy, ref_model=ref, reward_model=reward,
                         train_dataset=dataset, value_model=value)
    trainer.train()

    rows = [{"episode": r["episode"], **{k.replace("/", "_"): r[k] for k in CURVE}}
            for r in trainer.state.log_history if "episode" in r and all(k in r for k in CURVE)]
    curve = pd.DataFrame(rows, columns=["episode"] + [k.replace("/", "_") for k in CURVE])
    with atomic_path("models/ppo") as tmp:
        trainer.policy_model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    first, last = (curve.iloc[: max(1, len(curve) // 4)], curve.iloc[-max(1, len(curve) // 4):]) if len(curve) else (curve, curve)
    write_metrics("metrics/ppo.json", {
        "updates": len(curve),
        "episodes": cfg.total_episodes,
        "reward_first_quarter": float(first.objective_scores.mean()) if len(curve) else float("nan"),
        "reward_last_quarter": float(last.objective_scores.mean()) if len(curve) else float("nan"),
        "kl_last_quarter": float(last.objective_kl.mean()) if len(curve) else float("nan"),
        "reward_gain": float(last.objective_scores.mean() - first.objective_scores.mean()) if len(curve) else float("nan"),
    })
    write_csv("plots/ppo.csv", curve, ["episode"])


if __name__ == "__main__":
    main()
