"""Stage generate: every trained arm's responses (base, SFT, DPO, RL) and the trivial policies' to the test posts.

    dvc repro generate@0      # or: python stages/generate.py 0   (replicate 0 of params.seeds)

Every model of replicate ``i`` (``models/<arm>/<i>``, ``redditess.arms.TRAINED``) answers the same
posts (the test posts, up to ``generate.max_posts``, and every post of the crisis lane,
``data/split/crisis.parquet``) with the same sampling settings and the replicate's seed, batched with
left padding on the GPU when there is one (or through vLLM: ``generate.engine``). Every replicate
answers the same test posts (drawn with the replicate-independent seed), so evaluate can pair them.
Each response's ``kl_to_sft`` is log π_arm(y|x) − log π_SFT(y|x) of its tokens under the two models'
own (temperature-1) distributions: averaged, the arm's KL from SFT on its own answers.

The trivial policies (``redditess.baselines``) answer the same posts: ``stock`` gives every post the
most common sentence of the SFT targets (the policy's training split's effective comments),
``longest`` the longest SFT target. Writes ``data/generations/seed_<i>.parquet`` (post_id, model,
response, kl_to_sft), ``metrics/generate/<i>.json`` (posts, tokens generated) and
``reports/generate_speed/<i>.json`` (tokens/s: it varies from run to run, so it is kept out of the
metrics a reviewer diffs after ``dvc repro -f``).
"""

from __future__ import annotations

import importlib.util
import time

import pandas as pd

from redditess.config import load_params
from redditess.io import read_table, write_json, write_metrics, write_table
from redditess.replicates import generations_file, metrics_file, model_dir, replicate_from_argv, replicate_seed
from redditess.runtime import InputError, derive_seed, stage
from redditess.sampling import generate_vllm, load_causal, logprobs, sample, sequence_logprobs


def trivial_responses(train: pd.DataFrame) -> dict[str, str]:
    """The trivial policies' one answer for every post, from the SFT targets (effective comments of
    the policy's training split)."""
    from redditess.baselines import longest_text, stock_sentence

    targets = train.loc[train.label == 1, "comment_body"].tolist()
    if not targets:
        raise InputError("generate: data/split/train.parquet holds no effective comment (the SFT targets)")
    return {"stock": stock_sentence(targets), "longest": longest_text(targets)}


@stage
def main() -> None:
    import torch

    from redditess.arms import TRAINED, answered_posts
    from redditess.lm import load_tokenizer, query_ids

    params = load_params()
    cfg, sft = params.generate, params.sft
    if cfg.engine == "vllm" and importlib.util.find_spec("vllm") is None:
        raise InputError("generate.engine: vllm is not installed (pip install 'redditess[vllm]' on a GPU machine)")
    replicate = replicate_from_argv(params.seeds)
    # The posts: one draw for every replicate (replicate 0's stream); the sampling: the replicate's own.
    posts = answered_posts(cfg.max_posts, derive_seed(params.seed, "generate"))
    seed = replicate_seed(params.seed, "generate", replicate)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows, metrics = [], {"gpu": int(device == "cuda"), "posts": len(posts)}
    speed = {"gpu": int(device == "cuda"), "engine": cfg.engine}
    answers: dict[str, tuple[list[list[int]], list[list[int]], list[float]]] = {}
    for name in TRAINED:
        path = model_dir(name, replicate)
        tok = load_tokenizer(path)
        prompts = query_ids(tok, posts, sft.max_prompt_tokens)
        model, _ = load_causal(path, device)
        started = time.perf_counter()
        if cfg.engine == "vllm":
            texts, ids = generate_vllm(path, prompts, cfg, seed)
        else:
            texts, ids = sample(model, tok, prompts, cfg, seed, desc=f"generate {path}")
        seconds = time.perf_counter() - started
        n_tokens = sum(len(i) for i in ids)
        speed[f"tokens_per_second_{name}"] = n_tokens / seconds if seconds > 0 else float("nan")
        speed[f"seconds_{name}"] = seconds
        metrics[f"tokens_{name}"] = n_tokens
        answers[name] = (prompts, ids, logprobs(model, tok.pad_token_id, prompts, ids))
        rows += [dict(post_id=p, model=name, response=t.strip()) for p, t in zip(posts.post_id, texts, strict=True)]
    # KL from SFT on each arm's own answers: log-ratio of the sampled tokens under the arm and SFT.
    sft_path = model_dir("sft", replicate)
    kl = {}
    for name, (prompts, ids, own) in answers.items():
        ref = own if name == "sft" else sequence_logprobs(sft_path, prompts, ids, device)
        kl[name] = [a - b for a, b in zip(own, ref, strict=True)]
    for row, value in zip(rows, [v for name in answers for v in kl[name]], strict=True):
        row["kl_to_sft"] = value
    train = read_table("data/split/train.parquet", ["comment_body", "label"])
    for name, text in trivial_responses(train).items():
        rows += [dict(post_id=p, model=name, response=text, kl_to_sft=float("nan")) for p in posts.post_id]
    write_metrics(metrics_file("generate", replicate), metrics)
    write_json(f"reports/generate_speed/{replicate}.json", speed)
    write_table(generations_file(replicate), pd.DataFrame(rows, columns=["post_id", "model", "response", "kl_to_sft"]),
                ["model", "post_id"])


if __name__ == "__main__":
    main()
