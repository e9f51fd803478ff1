"""Sampling responses from a causal LM, and scoring sequences under one: the one path every arm,
best-of-n and the over-optimisation probes use, so they differ only in the model.

* :func:`sample` (:func:`generate_transformers` from a saved folder): batched sampling with left
  padding (generate's settings: temperature, top_p, max_new_tokens), the same random stream for
  every model at a given seed;
* :func:`generate_vllm`: the same through vLLM (``generate.engine: vllm``);
* :func:`logprobs` (:func:`sequence_logprobs`): log π(response | prompt) at temperature 1 (the KL estimates).
"""

from __future__ import annotations

from tqdm import tqdm

from redditess.runtime import seed_everything


def load_causal(path: str, device: str):
    from transformers import AutoModelForCausalLM

    from redditess.lm import load_tokenizer

    return AutoModelForCausalLM.from_pretrained(path).to(device).eval(), load_tokenizer(path)


def prefilled(model, batch, copies: int) -> dict:
    """``generate``'s inputs for ``copies`` samples per prompt with each prompt read once: the KV
    cache of every prompt but its last token, computed for the batch and then repeated per copy, so
    ``generate`` runs only the last prompt token and the new ones. ``num_return_sequences`` would
    repeat the prompts first and read each of them ``copies`` times (best-of-16: a third of the
    stage's time on CPU). Positions follow the left padding as ``generate``'s own do; greedy
    decoding gives the same tokens either way (tests/test_training.py)."""
    ids, mask = batch["input_ids"], batch["attention_mask"]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
                  use_cache=True).past_key_values
    cache.batch_repeat_interleave(copies)
    return {"input_ids": ids.repeat_interleave(copies, 0), "attention_mask": mask.repeat_interleave(copies, 0),
            "past_key_values": cache}


def sample(model, tok, prompts: list[list[int]], cfg, seed: int, num_return_sequences: int = 1, desc: str = "generate"
           ) -> tuple[list[str], list[list[int]]]:
    """Batched sampling with left padding under inference_mode (``cfg``: generate's temperature, top_p,
    max_new_tokens, batch_size); returns the texts and each one's token ids (up to and with the
    first EOS), ``num_return_sequences`` per prompt, prompt-major."""
    import torch

    seed_everything(seed)  # the same random stream for every model
    texts, ids = [], []
    device = next(model.parameters()).device
    for start in tqdm(range(0, len(prompts), cfg.batch_size), desc=desc, unit="batch", leave=False):
        batch = tok.pad({"input_ids": prompts[start:start + cfg.batch_size]}, return_tensors="pt").to(device)
        settings = dict(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens,
                        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        with torch.inference_mode():
            if num_return_sequences > 1 and batch["input_ids"].shape[1] > 1:
                out = model.generate(**prefilled(model, batch, num_return_sequences), **settings)
            else:
                out = model.generate(**batch, **settings, num_return_sequences=num_return_sequences)
        new = out[:, batch["input_ids"].shape[1]:]
        ended = (new == tok.eos_token_id) | (new == tok.pad_token_id)  # generated up to and with the first EOS
        lengths = torch.where(ended.any(1), ended.int().argmax(1) + 1, new.shape[1]).tolist()
        ids += [row[:n].tolist() for row, n in zip(new, lengths, strict=True)]
        texts += tok.batch_decode(new, skip_special_tokens=True)
    return texts, ids


def generate_transformers(path: str, prompts: list[list[int]], cfg, seed: int, device: str,
                          num_return_sequences: int = 1) -> tuple[list[str], list[list[int]]]:
    """:func:`sample` from the model saved at ``path``."""
    model, tok = load_causal(path, device)
    return sample(model, tok, prompts, cfg, seed, num_return_sequences, desc=f"generate {path}")


def logprobs(model, pad_id: int, prompts: list[list[int]], responses: list[list[int]], batch_size: int = 32) -> list[float]:
    """log π(response | prompt) under ``model`` (temperature 1), per pair."""
    import torch

    device = next(model.parameters()).device
    out = []
    for start in range(0, len(prompts), batch_size):
        seqs = [p + r for p, r in zip(prompts[start:start + batch_size], responses[start:start + batch_size], strict=True)]
        width = max(len(x) for x in seqs)
        ids = torch.full((len(seqs), width), pad_id)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for k, x in enumerate(seqs):  # right padding: positions stay those of training
            ids[k, :len(x)], mask[k, :len(x)] = torch.tensor(x), 1
        with torch.inference_mode():
            logp = torch.log_softmax(model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float(), -1)
        for k, (p, r) in enumerate(zip(prompts[start:start + batch_size], responses[start:start + batch_size], strict=True)):
            pos = torch.arange(len(p) - 1, len(p) + len(r) - 1)
            out.append(float(logp[k, pos, torch.tensor(r)].sum()) if r else 0.0)
    return out


def sequence_logprobs(path: str, prompts: list[list[int]], responses: list[list[int]], device: str,
                      batch_size: int = 32) -> list[float]:
    """:func:`logprobs` under the model saved at ``path``."""
    model, tok = load_causal(path, device)
    return logprobs(model, tok.pad_token_id, prompts, responses, batch_size)


def generate_vllm(path: str, prompts: list[list[int]], cfg, seed: int, num_return_sequences: int = 1
                  ) -> tuple[list[str], list[list[int]]]:
    """The same sampling settings and seed through vLLM (the optional ``vllm`` extra)."""
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(model=path, seed=seed)
    params = SamplingParams(temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_new_tokens, seed=seed,
                            n=num_return_sequences)
    outs = llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params)
    return ([c.text for o in outs for c in o.outputs], [list(c.token_ids) for o in outs for c in o.outputs])
