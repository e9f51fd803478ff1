"""The policy language model: prompt format, a locally built tokenizer and GPT-2, loading.

The default profile builds everything here (a byte-level BPE tokenizer trained on the training
split and a small GPT-2 initialised from the seed), so no weights are downloaded. The paper profile
names a causal LM instead. :func:`prompt_ids` is the one tokenization of a prompt that every stage uses.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PAD, EOS = "<|pad|>", "<|endoftext|>"
REPLY_MARKER = "\nSupportive reply:"


def post_text(tokenizer, title: str, body: str, max_tokens: int) -> str:
    """``Post: <title>\\n<body>``, cut to its first ``max_tokens`` tokens."""
    text = f"Post: {title}\n{body}".strip()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) > max_tokens:
        text = tokenizer.decode(ids[:max_tokens], skip_special_tokens=True)
    return text


def format_prompt(tokenizer, title: str, body: str, max_tokens: int) -> str:
    """The prompt as text: the chat template's rendering (with the assistant turn opened) where the
    tokenizer has one, else the plain ``Post: ...`` + reply marker."""
    text = post_text(tokenizer, title, body, max_tokens)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                             add_generation_prompt=True)
    return text + REPLY_MARKER


def prompt_ids(tokenizer, title: str, body: str, max_tokens: int) -> list[int]:
    """THE prompt token ids, used by every stage that shows a post to the policy (SFT, reward model,
    PPO, DPO, generate), so training, rollouts and generation see one distribution.

    A chat template renders its own BOS, so the rendering is tokenized without special tokens; the
    plain format gets the tokenizer's BOS only where the tokenizer itself would add one (Llama-style
    tokenizers do; the default tiny tokenizer does not, so its ids are unchanged)."""
    text = format_prompt(tokenizer, title, body, max_tokens)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if getattr(tokenizer, "chat_template", None):
        return ids
    bos = tokenizer.bos_token_id
    adds_bos = bos is not None and tokenizer("x", add_special_tokens=True)["input_ids"][:1] == [bos]
    return [bos] + ids if adds_bos and ids[:1] != [bos] else ids


def sequence_length(tokenizer, max_prompt_tokens: int, max_response_tokens: int) -> int:
    """The longest (prompt, response) sequence a trainer must keep: the post's ``max_prompt_tokens``,
    the prompt's own tokens (reply marker or chat template, and BOS: measured, not guessed, since a
    small tokenizer spends a dozen tokens on the marker), a few tokens of slack for the re-tokenized
    cut, and the response. trl drops every longer example, so a guess too small empties a data set."""
    overhead = len(prompt_ids(tokenizer, "", "", 0))
    return max_prompt_tokens + overhead + 4 + max_response_tokens


def response_ids(tokenizer, text: str, max_tokens: int | None = None) -> list[int]:
    """A response's token ids as the policy emits them: `` <text>`` then EOS (which ends a rollout).
    A response longer than ``max_tokens`` is cut there and gets no EOS: it did not end, and a model
    trained on it must not learn to stop mid-sentence."""
    ids = tokenizer(" " + text, add_special_tokens=False)["input_ids"]
    if max_tokens is not None and len(ids) > max_tokens:
        return ids[:max_tokens]
    return ids + [tokenizer.eos_token_id]


def train_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE tokenizer (GPT-2 style) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[PAD, EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS, pad_token=PAD, unk_token=EOS)


def build_tiny_gpt2(tokenizer, n_embd: int, n_layer: int, n_head: int, n_positions: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


def load_tokenizer(path: str | Path, revision: str | None = None):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), revision=revision)
    if tok.pad_token is None:  # Llama-family tokenizers ship without one
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"  # generation and PPO rollouts pad prompts on the left
    return tok


def preference_rows(tok, pairs: pd.DataFrame, units: pd.DataFrame, max_prompt_tokens: int,
                    max_response_tokens: int | None = None) -> list[dict]:
    """Preference pairs, pre-tokenized through :func:`prompt_ids` / :func:`response_ids`:
    ``prompt_ids``, ``chosen_ids`` and ``rejected_ids`` (responses only), for the reward model and DPO.
    Responses are cut to ``max_response_tokens``: trl drops a pair longer than its ``max_length``
    without a word, which on real (long) comments silently emptied the training set."""
    posts = units.drop_duplicates("post_id").set_index("post_id")
    rows = []
    for r in pairs.itertuples():
        p = prompt_ids(tok, posts.at[r.post_id, "post_title"], posts.at[r.post_id, "post_body"], max_prompt_tokens)
        rows.append({"prompt_ids": p, "chosen_ids": response_ids(tok, r.chosen, max_response_tokens),
                     "rejected_ids": response_ids(tok, r.rejected, max_response_tokens)})
    return rows


def sft_rows(tok, df: pd.DataFrame, max_prompt_tokens: int) -> list[dict]:
    """Post -> effective comment (``label == 1``) for SFTTrainer, pre-tokenized: ``input_ids`` and a
    ``completion_mask`` so the loss is on the response only."""
    rows = []
    for r in df[df.label == 1].itertuples():
        p, c = prompt_ids(tok, r.post_title, r.post_body, max_prompt_tokens), response_ids(tok, r.comment_body)
        rows.append({"input_ids": p + c, "completion_mask": [0] * len(p) + [1] * len(c)})
    return rows


def reward_rows(pairs: list[dict]) -> list[dict]:
    """RewardTrainer's pre-tokenized form of :func:`preference_rows`: whole sequences per side."""
    return [{"chosen_ids": r["prompt_ids"] + r["chosen_ids"], "rejected_ids": r["prompt_ids"] + r["rejected_ids"]}
            for r in pairs]


def query_ids(tok, posts: pd.DataFrame, max_prompt_tokens: int) -> list[list[int]]:
    """The prompts PPO rolls out from and generate answers, one per row of ``posts``."""
    return [prompt_ids(tok, r.post_title, r.post_body, max_prompt_tokens) for r in posts.itertuples()]


def reward_scores(model, tok, sequences: list[list[int]], max_length: int, batch_size: int = 32):
    """A one-output sequence classifier's scalar reward for each token sequence (prompt + response
    ids, the form it was trained on), cut to ``max_length``; right-padded so positions match training."""
    import numpy as np
    import torch

    model.eval()
    out = []
    side = tok.padding_side
    tok.padding_side = "right"
    try:
        with torch.inference_mode():
            for i in range(0, len(sequences), batch_size):
                enc = tok.pad({"input_ids": [s[:max_length] for s in sequences[i:i + batch_size]]}, return_tensors="pt")
                out.append(model(**enc.to(model.device)).logits[:, 0].float().cpu().numpy())
    finally:
        tok.padding_side = side
    return np.concatenate(out) if out else np.zeros(0)
