"""Stage dpo: the baseline alignment, trl's DPO from the SFT model on the same preference pairs.

    dvc repro dpo@0      # or: python stages/dpo.py 0   (replicate 0 of params.seeds)

From the same replicate's ``models/sft/<i>``. Writes ``models/dpo/<i>/``, ``metrics/dpo/<i>.json``
(held-out preference accuracy of the implicit reward) and ``plots/dpo/<i>.csv``.
"""

from __future__ import annotations

import pandas as pd

from redditess.config import load_params
from redditess.guards import require_pairs
from redditess.io import read_table, write_csv, write_metrics
from redditess.replicates import metrics_file, model_dir, plot_file, replicate_from_argv, replicate_seed
from redditess.runtime import seed_everything, stage


@stage
def main() -> None:
    from datasets import Dataset
    from trl import DPOConfig

    from redditess.lm import load_tokenizer, preference_rows, sequence_length
    from redditess.training import (
        check_precision,
        check_trainer_args,
        is_main_process,
        load_model,
        log_history_rows,
        lora_config,
        pretokenized_dpo_trainer,
        save_trained,
        trainer_config,
    )

    params = load_params()
    cfg, sft, training = params.dpo, params.sft, params.training
    check_precision(training)
    check_trainer_args(DPOConfig, cfg.trainer_args, "dpo.trainer_args")
    replicate = replicate_from_argv(params.seeds)
    seed = replicate_seed(params.seed, "dpo", replicate)
    sft_dir = model_dir("sft", replicate)
    seed_everything(seed)
    units = read_table("data/threads.parquet", ["post_id", "post_title", "post_body"])
    tok = load_tokenizer(sft_dir)
    train = preference_rows(tok, read_table("data/split/pairs_train.parquet"), units, sft.max_prompt_tokens,
                            sft.max_response_tokens)
    test = preference_rows(tok, read_table("data/split/pairs_test.parquet"), units, sft.max_prompt_tokens,
                           sft.max_response_tokens)
    require_pairs(len(train), len(test), "dpo")
    model = load_model(sft_dir, training)
    args = trainer_config(DPOConfig, seed, training, cfg.trainer_args, "dpo.trainer_args", epochs=cfg.epochs,
                          batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, beta=cfg.beta,
                          max_length=sequence_length(tok, sft.max_prompt_tokens, sft.max_response_tokens))
    # With LoRA, trl's reference is the model with its adapters disabled (no second copy).
    trainer = pretokenized_dpo_trainer()(model=model, args=args, train_dataset=Dataset.from_list(train),
                                         eval_dataset=Dataset.from_list(test), processing_class=tok,
                                         peft_config=lora_config(training))
    trainer.train()
    ev = trainer.evaluate()
    save_trained(trainer.model, tok, model_dir("dpo", replicate))
    if not is_main_process():
        return
    write_metrics(metrics_file("dpo", replicate), {
        "train_pairs": len(train), "test_pairs": len(test),
        "test_reward_accuracy": ev.get("eval_rewards/accuracies", float("nan")),
        "test_reward_margin": ev.get("eval_rewards/margins", float("nan")),
        "test_loss": ev.get("eval_loss", float("nan")),
    })
    write_csv(plot_file("dpo", replicate), pd.DataFrame(log_history_rows(trainer.state.log_history, ["loss"]), columns=["step", "loss"]), ["step"])


if __name__ == "__main__":
    main()
