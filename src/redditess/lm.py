"""The policy language model: prompt format, a locally built tokenizer and GPT-2, loading.

The default profile builds everything here (a byte-level BPE tokenizer trained on the training
split and a small GPT-2 initialised from the seed), so no weights are downloaded. The paper profile
names a causal LM instead; the same prompt format is used for both.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PAD, EOS = "<|pad|>", "<|endoftext|>"
REPLY_MARKER = "\nSupportive reply:"


def format_prompt(tokenizer, title: str, body: str, max_tokens: int) -> str:
    """``Post: <title>\\n<body>`` truncated to ``max_tokens`` tokens, then the reply marker."""
    text = f"Post: {title}\n{body}".strip()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) > max_tokens:
        text = tokenizer.decode(ids[:max_tokens], skip_special_tokens=True)
    return text + REPLY_MARKER


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


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:  # Llama-family tokenizers ship without one
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"  # generation and PPO rollouts pad prompts on the left
    return tok


def truncate_response(tok, text: str, max_tokens: int | None) -> str:
    """``text`` cut to ``max_tokens`` tokens (None keeps it whole)."""
    if max_tokens is None:
        return text
    ids = tok(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= max_tokens else tok.decode(ids[:max_tokens], skip_special_tokens=True)


def preference_rows(tok, pairs: pd.DataFrame, units: pd.DataFrame, max_prompt_tokens: int,
                    max_response_tokens: int | None = None) -> list[dict]:
    """Preference pairs in trl's explicit-prompt format, prompts formatted like the policy's.
    Responses are cut to ``max_response_tokens``: trl drops a pair longer than its ``max_length``
    without a word, which on real (long) comments silently emptied the training set."""
    posts = units.drop_duplicates("post_id").set_index("post_id")
    return [
        {"prompt": format_prompt(tok, posts.at[r.post_id, "post_title"], posts.at[r.post_id, "post_body"], max_prompt_tokens),
         "chosen": truncate_response(tok, " " + r.chosen, max_response_tokens),
         "rejected": truncate_response(tok, " " + r.rejected, max_response_tokens)}
        for r in pairs.itertuples()
    ]
