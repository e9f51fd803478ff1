"""Stage generate: responses of the base, SFT, DPO and PPO policies to the test posts.

    dvc repro generate@0      # or: python stages/generate.py 0   (replicate 0 of params.seeds)

Every model of replicate ``i`` (``models/<arm>/<i>``) answers the same posts (the test posts, up to
``generate.max_posts``, and every post of the crisis lane, ``data/split/crisis.parquet``) with the same sampling
settings and the replicate's seed, batched with left padding on the GPU when there is one (or
through vLLM: ``generate.engine``). Every replicate answers the same test posts (drawn with the
replicate-independent seed), so evaluate can pair them. Writes ``data/generations/seed_<i>.parquet``
(post_id, model, response), ``metrics/generate/<i>.json`` (posts, tokens generated) and
``reports/generate_speed/<i>.json`` (tokens/s: it varies from run to run, so it is kept out of the
metrics a reviewer diffs after ``dvc repro -f``).
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pandas as pd
from tqdm import tqdm

from redditess.config import load_params
from redditess.io import read_table, write_json, write_metrics, write_table
from redditess.replicates import generations_file, metrics_file, model_dir, replicate_from_argv, replicate_seed
from redditess.runtime import InputError, derive_seed, seed_everything, stage

MODELS = ("base", "sft", "dpo", "ppo")  # base: the policy before SFT (models/base/<i>, written by sft@<i>)


def test_posts(max_posts: int, seed: int) -> pd.DataFrame:
    """The test posts (``max_posts`` of them, seeded) and every post of the crisis lane."""
    cols = ["post_id", "post_title", "post_body"]
    posts = read_table("data/split/test.parquet", cols).drop_duplicates("post_id")
    posts = posts.sort_values("post_id").reset_index(drop=True)
    if max_posts and len(posts) > max_posts:
        keep = np.sort(np.random.default_rng(seed).permutation(len(posts))[:max_posts])
        posts = posts.iloc[keep].reset_index(drop=True)
    crisis = read_table("data/split/crisis.parquet", cols).drop_duplicates("post_id")
    return pd.concat([posts, crisis]).drop_duplicates("post_id").sort_values("post_id").reset_index(drop=True)


def generate_transformers(path: str, prompts: list[list[int]], cfg, seed: int, device: str) -> tuple[list[str], int]:
    """Batched sampling with left padding under inference_mode; returns the texts and tokens generated."""
    import torch
    from transformers import AutoModelForCausalLM

    from redditess.lm import load_tokenizer

    tok = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(path).to(device).eval()
    seed_everything(seed)  # the same random stream for every model
    texts, n_tokens = [], 0
    for start in tqdm(range(0, len(prompts), cfg.batch_size), desc=f"generate {path}", unit="batch"):
        batch = tok.pad({"input_ids": prompts[start:start + cfg.batch_size]}, return_tensors="pt").to(device)
        with torch.inference_mode():
            out = model.generate(**batch, do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p,
                                 max_new_tokens=cfg.max_new_tokens, pad_token_id=tok.pad_token_id,
                                 eos_token_id=tok.eos_token_id)
        new = out[:, batch["input_ids"].shape[1]:]
        ended = (new == tok.eos_token_id) | (new == tok.pad_token_id)  # generated up to and with the first EOS
        n_tokens += int(torch.where(ended.any(1), ended.int().argmax(1) + 1, new.shape[1]).sum())
        texts += tok.batch_decode(new, skip_special_tokens=True)
    return texts, n_tokens


def generate_vllm(path: str, prompts: list[list[int]], cfg, seed: int) -> tuple[list[str], int]:
    """The same sampling settings and seed through vLLM (the optional ``vllm`` extra)."""
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(model=path, seed=seed)
    params = SamplingParams(temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_new_tokens, seed=seed)
    outs = llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params)
    return [o.outputs[0].text for o in outs], sum(len(o.outputs[0].token_ids) for o in outs)


@stage
def main() -> None:
    import torch

    from redditess.lm import load_tokenizer, query_ids

    params = load_params()
    cfg, sft = params.generate, params.sft
    if cfg.engine == "vllm" and importlib.util.find_spec("vllm") is None:
        raise InputError("generate.engine: vllm is not installed (pip install 'redditess[vllm]' on a GPU machine)")
    replicate = replicate_from_argv(params.seeds)
    # The posts: one draw for every replicate (replicate 0's stream); the sampling: the replicate's own.
    posts = test_posts(cfg.max_posts, derive_seed(params.seed, "generate"))
    seed = replicate_seed(params.seed, "generate", replicate)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows, metrics = [], {"gpu": int(device == "cuda"), "posts": len(posts)}
    speed = {"gpu": int(device == "cuda"), "engine": cfg.engine}
    for name in MODELS:
        path = model_dir(name, replicate)
        tok = load_tokenizer(path)
        prompts = query_ids(tok, posts, sft.max_prompt_tokens)
        started = time.perf_counter()
        if cfg.engine == "vllm":
            texts, n_tokens = generate_vllm(path, prompts, cfg, seed)
        else:
            texts, n_tokens = generate_transformers(path, prompts, cfg, seed, device)
        seconds = time.perf_counter() - started
        speed[f"tokens_per_second_{name}"] = n_tokens / seconds if seconds > 0 else float("nan")
        speed[f"seconds_{name}"] = seconds
        metrics[f"tokens_{name}"] = n_tokens
        for post_id, text in zip(posts.post_id, texts, strict=True):
            rows.append(dict(post_id=post_id, model=name, response=text.strip()))
    write_metrics(metrics_file("generate", replicate), metrics)
    write_json(f"reports/generate_speed/{replicate}.json", speed)
    write_table(generations_file(replicate), pd.DataFrame(rows, columns=["post_id", "model", "response"]), ["model", "post_id"])


if __name__ == "__main__":
    main()
