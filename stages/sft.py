"""Stage sft: the policy's starting point, supervised on post -> effective comment.

    dvc repro sft@0      # or: python stages/sft.py 0   (replicate 0 of params.seeds)

Default (``sft.base_model: tiny``): a byte-level BPE tokenizer and a small GPT-2 are built here from
the training split and pre-trained on its text (posts and all their comments), then fine-tuned with
trl's SFTTrainer on prompt -> effective comment (loss on the completion only). Otherwise the named
causal LM is fine-tuned directly. Replicate ``i`` (``redditess.replicates``) writes ``models/base/<i>/``
(the policy before SFT: the evaluation's base arm), ``models/sft/<i>/``, ``metrics/sft/<i>.json`` and
``plots/sft_loss/<i>.csv``.
"""

from __future__ import annotations

import logging
import math

import pandas as pd

from redditess.config import load_params
from redditess.io import read_table, write_csv, write_metrics
from redditess.replicates import metrics_file, model_dir, plot_file, replicate_from_argv, replicate_seed
from redditess.runtime import seed_everything, stage

COLUMNS = ["post_id", "comment_id", "post_title", "post_body", "comment_body", "label"]


@stage
def main() -> None:
    import torch  # noqa: F401
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from redditess.hub import check_hub_model
    from redditess.lm import build_tiny_gpt2, load_tokenizer, sequence_length, sft_rows, train_tokenizer
    from redditess.training import (
        check_lora_targets,
        check_precision,
        check_trainer_args,
        is_main_process,
        load_model,
        log_history_rows,
        lora_config,
        save_trained,
        trainer_config,
    )

    params = load_params()
    cfg, training = params.sft, params.training
    check_precision(training)
    check_trainer_args(SFTConfig, cfg.trainer_args, "sft.trainer_args")
    if cfg.base_model != "tiny":
        check_hub_model(cfg.base_model, param="sft.base_model", revision=cfg.revision, revision_param="sft.revision",
                        allow=training.allow_downloads)
        check_lora_targets(cfg.base_model, training, revision=cfg.revision)
    replicate = replicate_from_argv(params.seeds)
    seed = replicate_seed(params.seed, "sft", replicate)
    seed_everything(seed)
    train = read_table("data/split/train.parquet", COLUMNS)
    val = read_table("data/split/val.parquet", COLUMNS)
    history = []

    if cfg.base_model == "tiny":
        units = read_table("data/threads.parquet", ["post_id", "post_title", "post_body", "comment_body", "op_replies"])
        units = units[units.post_id.isin(set(train.post_id))]
        posts = units.drop_duplicates("post_id")
        corpus = [f"Post: {r.post_title}\n{r.post_body}" for r in posts.itertuples()]
        corpus += units.comment_body.tolist() + [t for replies in units.op_replies for t in replies]
        tok = train_tokenizer(corpus, cfg.vocab_size)
        max_length = sequence_length(tok, cfg.max_prompt_tokens, cfg.max_response_tokens)
        model = build_tiny_gpt2(tok, cfg.n_embd, cfg.n_layer, cfg.n_head, n_positions=max(256, max_length))
        pre_args = trainer_config(SFTConfig, seed, training, {}, "sft.trainer_args", epochs=cfg.pretrain_epochs,
                                  batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, max_length=max_length)
        pre = SFTTrainer(model=model, args=pre_args, train_dataset=Dataset.from_dict({"text": corpus}), processing_class=tok)
        pre.train()
        history += [dict(r, phase="pretrain") for r in log_history_rows(pre.state.log_history, ["loss"])]
        tok.padding_side = "left"
    else:
        tok = load_tokenizer(cfg.base_model, revision=cfg.revision)
        max_length = sequence_length(tok, cfg.max_prompt_tokens, cfg.max_response_tokens)
        model = load_model(cfg.base_model, training, revision=cfg.revision)

    # The base arm of the evaluation: the policy before SFT (the paper compares its aligned model
    # with the base model it started from). Saved from every process, written by the main one.
    save_trained(model, tok, model_dir("base", replicate))

    args = trainer_config(SFTConfig, seed, training, cfg.trainer_args, "sft.trainer_args", epochs=cfg.epochs,
                          batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, max_length=max_length,
                          completion_only_loss=True)
    train_ds = Dataset.from_list(sft_rows(tok, train, cfg.max_prompt_tokens))
    val_ds = Dataset.from_list(sft_rows(tok, val, cfg.max_prompt_tokens))
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, processing_class=tok,
                         peft_config=lora_config(training))
    trainer.train()
    history += [dict(r, phase="sft") for r in log_history_rows(trainer.state.log_history, ["loss"])]
    eval_loss = trainer.evaluate()["eval_loss"]
    logging.getLogger("redditess.sft").info("trained in %d process(es) on %s", trainer.accelerator.num_processes,
                                            trainer.accelerator.device)
    n_params = save_trained(trainer.model, tok, model_dir("sft", replicate))
    if not is_main_process():
        return
    write_metrics(metrics_file("sft", replicate), {
        "val_loss": eval_loss, "val_perplexity": math.exp(min(eval_loss, 50)), "train_examples": len(train_ds),
        "val_examples": len(val_ds), "parameters": n_params,
    })
    frame = pd.DataFrame(history, columns=["phase", "step", "loss"])
    frame["row"] = range(len(frame))
    write_csv(plot_file("sft_loss", replicate), frame[["row", "phase", "step", "loss"]], ["row"])


if __name__ == "__main__":
    main()
