"""Stage generate: responses of the base, SFT, DPO and PPO policies to the test posts.

    dvc repro generate        # or: python stages/generate.py

Every model answers the same posts with the same sampling settings and the same seed. Writes
``data/generations.parquet`` (post_id, model, response).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from redditess.config import load_params
from redditess.io import read_table, write_table
from redditess.runtime import derive_seed, seed_everything, stage

MODELS = ("base", "sft", "dpo", "ppo")  # base: the policy before SFT (models/base, written by sft)


def test_posts(max_posts: int, seed: int) -> pd.DataFrame:
    posts = read_table("data/split/test.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    posts = posts.sort_values("post_id").reset_index(drop=True)
    if max_posts and len(posts) > max_posts:
        keep = np.sort(np.random.default_rng(seed).permutation(len(posts))[:max_posts])
        posts = posts.iloc[keep].reset_index(drop=True)
    return posts


@stage
def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from redditess.lm import format_prompt, load_tokenizer

    params = load_params()
    cfg, sft = params.generate, params.sft
    seed = derive_seed(params.seed, "generate")
    posts = test_posts(cfg.max_posts, seed)
    rows = []
    for name in MODELS:
        tok = load_tokenizer(f"models/{name}")
        model = AutoModelForCausalLM.from_pretrained(f"models/{name}").eval()
        prompts = [format_prompt(tok, r.post_title, r.post_body, sft.max_prompt_tokens) for r in posts.itertuples()]
        seed_everything(seed)  # the same random stream for every model
        for start in tqdm(range(0, len(prompts), 32), desc=f"generate {name}", unit="batch"):
            batch = tok(prompts[start:start + 32], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(**batch, do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p,
                                     max_new_tokens=cfg.max_new_tokens, pad_token_id=tok.pad_token_id,
                                     eos_token_id=tok.eos_token_id)
            texts = tok.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            for post_id, text in zip(posts.post_id[start:start + 32], texts, strict=True):
                rows.append(dict(post_id=post_id, model=name, response=text.strip()))
    write_table("data/generations.parquet", pd.DataFrame(rows, columns=["post_id", "model", "response"]), ["model", "post_id"])


if __name__ == "__main__":
    main()
