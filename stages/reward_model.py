"""Stage reward_model: a scalar reward from the SFT model, trained on same-post preference pairs.

    dvc repro reward_model        # or: python stages/reward_model.py

The model is a sequence classifier (one output) initialised from ``models/sft`` so it shares the
policy's tokenizer, which trl's PPO requires. trl's RewardTrainer fits it on
(effective comment > ineffective comment of the same post). Writes ``models/reward_model/`` and
``metrics/reward_model.json`` (held-out pairwise accuracy on the test pairs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from redditess.config import load_params
from redditess.guards import require_pairs
from redditess.io import atomic_path, read_table, write_csv, write_metrics
from redditess.lm import preference_rows
from redditess.runtime import derive_seed, seed_everything, stage


def reward_scores(model, tok, prompts: list[str], responses: list[str], max_length: int, batch_size: int = 32) -> np.ndarray:
    import torch

    model.eval()
    tok.padding_side = "right"
    out = []
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            texts = [p + r + tok.eos_token for p, r in zip(prompts[i:i + batch_size], responses[i:i + batch_size], strict=True)]
            enc = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length).to(model.device)
            out.append(model(**enc).logits[:, 0].float().cpu().numpy())
    tok.padding_side = "left"
    return np.concatenate(out) if out else np.zeros(0)


@stage
def main() -> None:
    import torch  # noqa: F401
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from redditess.lm import load_tokenizer
    from redditess.training import common_args, log_history_rows

    params = load_params()
    cfg, sft = params.reward_model, params.sft
    seed = derive_seed(params.seed, "reward_model")
    seed_everything(seed)
    units = read_table("data/threads.parquet", ["post_id", "post_title", "post_body"])
    tok = load_tokenizer("models/sft")
    max_length = sft.max_prompt_tokens + 8 + sft.max_response_tokens
    train = preference_rows(tok, read_table("data/split/pairs_train.parquet"), units, sft.max_prompt_tokens,
                              sft.max_response_tokens)
    test = preference_rows(tok, read_table("data/split/pairs_test.parquet"), units, sft.max_prompt_tokens,
                              sft.max_response_tokens)
    require_pairs(len(train), len(test), "reward_model")
    model = AutoModelForSequenceClassification.from_pretrained("models/sft", num_labels=1)
    model.config.pad_token_id = tok.pad_token_id
    args = RewardConfig(**common_args(seed, epochs=cfg.epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate),
                        max_length=max_length)
    tok.padding_side = "right"
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(train), processing_class=tok)
    trainer.train()
    tok.padding_side = "left"

    prompts = [r["prompt"] for r in test]
    chosen = reward_scores(model, tok, prompts, [r["chosen"] for r in test], max_length)
    rejected = reward_scores(model, tok, prompts, [r["rejected"] for r in test], max_length)
    margin = chosen - rejected
    with atomic_path("models/reward_model") as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    write_metrics("metrics/reward_model.json", {
        "test_pairs": len(test),
        "test_pairwise_accuracy": float((margin > 0).mean()) if len(test) else float("nan"),
        "test_mean_margin": float(margin.mean()) if len(test) else float("nan"),
        "train_pairs": len(train),
    })
    write_csv("plots/reward_model_loss.csv",
              pd.DataFrame(log_history_rows(trainer.state.log_history, ["loss"]), columns=["step", "loss"]), ["step"])


if __name__ == "__main__":
    main()
