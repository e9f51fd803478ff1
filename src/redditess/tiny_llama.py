"""A Llama-3-shaped tokenizer and model built locally (nothing downloaded), for the tests and the
paper-scale benchmark: the tokenizer adds a BOS like Llama-3's, has EOS ``<|eot_id|>`` and a
Llama-3-style chat template; the model is a ``LlamaForCausalLM`` from any config (a tiny one, or
Llama-3.2-1B's shape with random weights), saved in bf16 as the real checkpoints are."""

from __future__ import annotations

from pathlib import Path

BOS, EOT, END = "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>"
HEADER = ("<|start_header_id|>", "<|end_header_id|>")
LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# The Llama-3.2-1B architecture (its public config.json), so the benchmark needs no download.
LLAMA_3_2_1B = dict(
    hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
    max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
    vocab_size=128256,
)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=512, tie_word_embeddings=True)


def llama3_style_tokenizer(texts: list[str], vocab_size: int = 600, chat_template: bool = True):
    """A byte-level BPE trained on ``texts`` with Llama-3's special tokens and BOS post-processor."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [BOS, END, EOT, *HEADER]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, tok.token_to_id(BOS))]),
    ])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOT if chat_template else END)
    if chat_template:
        hf.chat_template = LLAMA3_CHAT_TEMPLATE
    return hf


def llama_model(tokenizer, shape: dict | None = None, seed: int = 0):
    """A randomly initialised ``LlamaForCausalLM`` of ``shape`` (default :data:`TINY`)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = dict(TINY if shape is None else shape)
    shape["vocab_size"] = max(shape.get("vocab_size", 0), len(tokenizer))
    config = LlamaConfig(**shape, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def save_bf16(model, tokenizer, path: str | Path) -> Path:
    """Save as the hub checkpoints are: bf16 weights (``dtype="auto"`` would load them as bf16)."""
    import torch

    path = Path(path)
    model.to(torch.bfloat16).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
