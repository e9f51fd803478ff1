"""Training set-up without training: one tokenization path for every stage (chat template and
plain), trainer arguments from params, precision and LoRA checks, accelerate configs, hub models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from redditess.config import LoraSettings, TrainingConfig
from redditess.lm import preference_rows, prompt_ids, query_ids, response_ids, reward_rows, sft_rows
from redditess.runtime import InputError
from redditess.tiny_llama import EOT, llama3_style_tokenizer, llama_model, save_bf16

from conftest import ROOT

CORPUS = ["Post: I feel alone lately\nNobody at work talks to me and I do not sleep.",
          "I hear you. That sounds exhausting, and reaching out here took courage.",
          "Just get over it.", "Have you tried talking to someone you trust?"] * 20
POSTS = pd.DataFrame({"post_id": ["p1", "p2"], "post_title": ["I feel alone lately", "Cannot sleep"],
                      "post_body": ["Nobody at work talks to me and I do not sleep.", "Every night the same thoughts."]})


@pytest.fixture(scope="module", params=["chat", "plain"])
def llama_tok(request):
    tok = llama3_style_tokenizer(CORPUS, chat_template=request.param == "chat")
    tok.pad_token = tok.eos_token  # as redditess.lm.load_tokenizer does for Llama tokenizers
    tok.padding_side = "left"
    return tok


def test_every_stage_tokenizes_a_post_and_response_to_the_same_ids(llama_tok):
    from trl.trainer.dpo_trainer import DataCollatorForPreference as DpoCollator
    from trl.trainer.reward_trainer import DataCollatorForPreference as RewardCollator

    tok = llama_tok
    post, reply = POSTS.iloc[0], "I hear you. That sounds exhausting."
    p = prompt_ids(tok, post.post_title, post.post_body, 64)
    r = response_ids(tok, reply)
    expected = p + r
    # The prompt starts with exactly one BOS (the chat template renders it; the plain path adds it) and
    # the response ends with EOS.
    assert p[0] == tok.bos_token_id and p.count(tok.bos_token_id) == 1 and r[-1] == tok.eos_token_id
    if tok.chat_template:
        assert tok.decode(p).endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
        assert tok.eos_token == EOT
    else:
        assert tok.decode(p).endswith("\nSupportive reply:")

    # SFT (the ids and the completion-only loss mask)
    frame = POSTS.iloc[:1].assign(comment_body=reply, label=1)
    (sft,) = sft_rows(tok, frame, 64)
    assert sft["input_ids"] == expected
    assert [t for t, m in zip(sft["input_ids"], sft["completion_mask"], strict=True) if m] == r

    # reward model and DPO: the same pair rows, through trl's own collators
    pairs = pd.DataFrame({"post_id": ["p1"], "chosen": [reply], "rejected": ["Just get over it."]})
    (pref,) = preference_rows(tok, pairs, POSTS, 64)
    rm_batch = RewardCollator(pad_token_id=tok.pad_token_id)(reward_rows([pref]))
    assert rm_batch["input_ids"][0][rm_batch["attention_mask"][0].bool()].tolist() == expected
    dpo_batch = DpoCollator(pad_token_id=tok.pad_token_id)([pref])
    assert dpo_batch["input_ids"][0][dpo_batch["attention_mask"][0].bool()].tolist() == expected

    # PPO queries and generate's left-padded batch: the prompt, which the policy then continues
    queries = query_ids(tok, POSTS, 64)
    assert queries[0] == p
    batch = tok.pad({"input_ids": queries}, return_tensors="pt")
    assert tok.padding_side == "left" and batch["input_ids"][0][batch["attention_mask"][0].bool()].tolist() == p
    assert batch["input_ids"][1][batch["attention_mask"][1].bool()].tolist() == queries[1]


def test_the_default_tiny_tokenizer_gets_no_bos_so_its_ids_are_unchanged():
    from redditess.lm import REPLY_MARKER, train_tokenizer

    tok = train_tokenizer(CORPUS, 300)
    post = POSTS.iloc[0]
    text = f"Post: {post.post_title}\n{post.post_body}" + REPLY_MARKER
    assert prompt_ids(tok, post.post_title, post.post_body, 64) == tok(text, add_special_tokens=False)["input_ids"]
    # trl used to tokenize prompt + completion + EOS as one string: the same ids
    joint = tok(text + " I hear you." + tok.eos_token)["input_ids"]
    assert prompt_ids(tok, post.post_title, post.post_body, 64) + response_ids(tok, "I hear you.") == joint


# --------------------------------------------------------------------------- trainer arguments
def test_trainer_args_reach_the_trl_config_and_unknown_names_are_refused():
    from trl import DPOConfig, SFTConfig

    from redditess.training import trainer_config

    training = TrainingConfig(gradient_checkpointing=True, gradient_accumulation_steps=4, warmup_steps=0.1,
                              weight_decay=0.01, max_grad_norm=0.5, dtype="bf16")
    args = trainer_config(SFTConfig, 1, training, {"packing": True, "lr_scheduler_type": "cosine"}, "sft.trainer_args",
                          epochs=1, batch_size=2, learning_rate=1e-5, max_length=64)
    assert (args.gradient_checkpointing, args.gradient_accumulation_steps, args.weight_decay, args.max_grad_norm) == \
        (True, 4, 0.01, 0.5)
    assert args.packing and args.lr_scheduler_type == "cosine" and args.bf16 and not args.fp16
    assert args.warmup_steps == 0.1
    with pytest.raises(InputError, match=r"dpo\.trainer_args\.betta is not a field of trl's DPOConfig"):
        trainer_config(DPOConfig, 1, TrainingConfig(), {"betta": 0.2}, "dpo.trainer_args", epochs=1, batch_size=2,
                       learning_rate=1e-5)


def test_default_precision_is_fp32_without_autocast():
    from trl import RewardConfig

    from redditess.training import load_dtype, trainer_config

    args = trainer_config(RewardConfig, 1, TrainingConfig(), {}, "reward_model.trainer_args", epochs=1,
                          batch_size=2, learning_rate=1e-5)
    assert not args.bf16 and not args.fp16  # trl's configs default to bf16=True
    assert load_dtype(TrainingConfig(dtype="bf16")) == torch.float32  # fp32 master weights under autocast


def test_pure_low_precision_only_when_asked_and_logged(caplog):
    from redditess.training import check_precision, load_dtype

    assert load_dtype(TrainingConfig(dtype="bf16", pure_low_precision=True)) == torch.bfloat16
    assert "pure_low_precision" in caplog.text
    with pytest.raises(InputError, match="training.pure_low_precision"):
        check_precision(TrainingConfig(dtype="fp32", pure_low_precision=True))


@pytest.mark.parametrize("dtype, cuda, bf16, problem", [
    ("fp32", False, False, None), ("bf16", False, False, None), ("bf16", True, True, None), ("fp16", True, False, None),
    ("bf16", True, False, "training.dtype: bf16 is not supported by this GPU"),
    ("fp16", False, False, "training.dtype: fp16 mixed precision needs a CUDA GPU"),
])
def test_a_precision_the_device_cannot_run_names_the_param(dtype, cuda, bf16, problem):
    from redditess.training import precision_problem

    got = precision_problem(dtype, cuda=cuda, bf16_supported=bf16)
    assert got == problem or (problem and got.startswith(problem))


def test_qlora_without_a_gpu_is_one_line():
    from redditess.training import check_precision

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(InputError, match="training.lora.quantize: 4bit needs a CUDA GPU"):
        check_precision(TrainingConfig(lora=LoraSettings(enabled=True, quantize="4bit")))


# --------------------------------------------------------------------------- LoRA
@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory) -> Path:
    tok = llama3_style_tokenizer(CORPUS)
    return save_bf16(llama_model(tok), tok, tmp_path_factory.mktemp("llama") / "m")


def test_a_lora_target_the_model_lacks_is_one_line_before_loading(llama_dir, monkeypatch):
    import transformers

    from redditess.training import check_lora_targets

    loads = []
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", lambda *a, **k: loads.append(a))
    ok = TrainingConfig(lora=LoraSettings(enabled=True, target_modules=["q_proj", "v_proj"]))
    check_lora_targets(llama_dir, ok)
    bad = dataclasses.replace(ok, lora=LoraSettings(enabled=True, target_modules=["q_proj", "c_attn"]))
    with pytest.raises(InputError, match=r"training.lora.target_modules: 'c_attn' is not a module of .*q_proj"):
        check_lora_targets(llama_dir, bad)
    assert not loads  # no weights were loaded to find out


def test_lora_adapters_are_merged_on_save_and_load_plainly(llama_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    from redditess.lm import load_tokenizer
    from redditess.training import load_model, save_model, with_lora

    training = TrainingConfig(lora=LoraSettings(enabled=True, r=4, target_modules=["q_proj", "v_proj"]))
    model = with_lora(load_model(llama_dir, training), training)
    assert model.get_nb_trainable_parameters()[0] < sum(p.numel() for p in model.parameters()) / 5
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.fill_(0.01)
    ids = torch.tensor([[5, 6, 7, 8]])
    expected = model.eval()(input_ids=ids).logits
    save_model(model, load_tokenizer(llama_dir), tmp_path / "out")
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert not any("lora" in n for n, _ in plain.named_parameters())
    assert plain.dtype == torch.float32  # fp32 master weights saved as such: small updates survive
    torch.testing.assert_close(plain(input_ids=ids).logits, expected, atol=1e-4, rtol=1e-4)


# --------------------------------------------------------------------------- accelerate configs
CONFIGS = sorted((ROOT / "accelerate_configs").glob("*.yaml"))


def test_every_accelerate_config_parses_with_accelerates_own_parser():
    from redditess.launch import load_accelerate_config

    parsed = {p.stem: load_accelerate_config(p) for p in CONFIGS}
    assert {"cpu", "cpu_ddp", "gpu", "multi_gpu", "deepspeed_zero2", "deepspeed_zero3", "deepspeed_zero3_offload",
            "multi_node"} <= set(parsed)
    assert parsed["deepspeed_zero2"].deepspeed_config["zero_stage"] == 2
    assert parsed["deepspeed_zero3"].deepspeed_config["zero_stage"] == 3
    assert parsed["deepspeed_zero3_offload"].deepspeed_config["offload_param_device"] == "cpu"
    assert parsed["multi_node"].num_machines == 2
    assert all(str(c.mixed_precision) == "no" for c in parsed.values())  # precision comes from params only


def test_the_zero_configs_become_deepspeed_plugins():
    from accelerate.utils import DeepSpeedPlugin

    from redditess.launch import load_accelerate_config

    for name in ("deepspeed_zero2", "deepspeed_zero3", "deepspeed_zero3_offload"):
        ds = load_accelerate_config(ROOT / "accelerate_configs" / f"{name}.yaml").deepspeed_config
        plugin = DeepSpeedPlugin(zero_stage=ds["zero_stage"], offload_optimizer_device=ds["offload_optimizer_device"],
                                 offload_param_device=ds["offload_param_device"],
                                 zero3_init_flag=ds.get("zero3_init_flag", False))
        assert plugin.deepspeed_config["zero_optimization"]["stage"] == ds["zero_stage"]


def test_a_config_naming_more_gpus_than_exist_is_one_line():
    from redditess.launch import check_accelerate_config, gpus_needed, load_accelerate_config

    cfg = ROOT / "accelerate_configs"
    assert gpus_needed(load_accelerate_config(cfg / "cpu.yaml")) == 0
    assert gpus_needed(load_accelerate_config(cfg / "cpu_ddp.yaml")) == 0
    assert gpus_needed(load_accelerate_config(cfg / "multi_node.yaml")) == 8
    check_accelerate_config(cfg / "cpu.yaml", 0)
    with pytest.raises(InputError, match=r"training.accelerate_config: .*multi_gpu.yaml asks for 4 GPU\(s\) on this "
                                         r"machine, which has 1"):
        check_accelerate_config(cfg / "multi_gpu.yaml", 1)
    with pytest.raises(InputError, match="training.accelerate_config: .*nope.yaml not found"):
        check_accelerate_config(cfg / "nope.yaml", 0)


# --------------------------------------------------------------------------- hub models
def test_a_hub_model_without_permission_to_download_is_one_line(monkeypatch, tmp_path):
    from redditess.hub import check_hub_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("REDDITESS_ALLOW_DOWNLOADS", raising=False)
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    sha = "4e20de362430cd3b72f300e6b0f18e50e7166e08"
    kw = dict(param="sft.base_model", revision_param="sft.revision")
    with pytest.raises(InputError) as err:
        check_hub_model("meta-llama/Llama-3.2-1B", revision=sha, **kw)
    msg = str(err.value)
    assert "sft.base_model" in msg and "meta-llama/Llama-3.2-1B" in msg and "REDDITESS_ALLOW_DOWNLOADS=1" in msg
    assert "HF_TOKEN" in msg and "\n" not in msg
    # A hub name needs a pinned commit, downloads allowed or not; a tag or a short sha is no pin.
    for revision in (None, "main", "4e20de36"):
        with pytest.raises(InputError, match=r"^sft.revision: sft.base_model is the hub model 'meta-llama/Llama-3.2-1B'; pin"):
            check_hub_model("meta-llama/Llama-3.2-1B", revision=revision, allow=True, **kw)
    monkeypatch.setenv("REDDITESS_ALLOW_DOWNLOADS", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    check_hub_model("meta-llama/Llama-3.2-1B", revision=sha, **kw)
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "0" and hc.HF_HUB_OFFLINE is False
    check_hub_model(str(tmp_path), revision=None, **kw)  # a local folder needs no pin and no permission


def test_the_sequence_budget_holds_every_truncated_pair_even_with_a_long_reply_marker():
    """A small tokenizer spends a dozen tokens on the reply marker: the budget is measured, so trl
    (which drops longer examples without a word) keeps every pair the stages build."""
    import pandas as pd

    from redditess.lm import sequence_length, train_tokenizer

    tok = train_tokenizer(["tiny corpus of words", "another line"] * 20, 280)  # almost no merges
    posts = pd.DataFrame({"post_id": ["p"], "post_title": ["Feeling low since my exams"],
                          "post_body": ["I can’t sleep — everything feels heavy and I don’t know who to tell. " * 10]})
    pairs = pd.DataFrame({"post_id": ["p"], "chosen": ["You’re not alone. " * 30], "rejected": ["ok " * 40]})
    (row,) = reward_rows(preference_rows(tok, pairs, posts, 48, 24))
    budget = sequence_length(tok, 48, 24)
    assert max(len(row["chosen_ids"]), len(row["rejected_ids"])) <= budget
    assert len(row["chosen_ids"]) > 48 + 8 + 24  # the old fixed slack of 8 tokens would have dropped it


@pytest.mark.parametrize("regime", ["features", "finetune"])
def test_the_classifier_trains_the_same_whatever_the_callers_random_state(regime, tmp_path):
    """train_judge seeds torch itself: the new classification head (finetune: drawn by from_pretrained
    before the Trainer seeds anything; features: the MLP's initial weights) is the same whatever the
    caller's RNG state, and a saved judge scores as the trained one did."""
    import random

    import torch

    from redditess.classifier import judge_spec, load_judge, train_judge
    from redditess.config import ClassifierConfig

    cfg = ClassifierConfig(regime=regime, epochs=1, batch_size=4, max_length=32, head_epochs=5, head_patience=2, head_hidden=8)
    prompts = ["I feel alone", "I can't sleep", "work is too much", "my dog died"] * 2
    texts = ["You're not alone, I'm here.", "ok", "Try a fixed wake time.", "whatever"] * 2
    labels = [1, 0, 1, 0] * 2
    val = (prompts[:4], texts[:4], labels[:4])
    scores = []
    for noise in (1, 2):
        torch.manual_seed(noise)  # a caller's RNG state, different each time
        torch.rand(noise)
        np.random.seed(noise)
        random.seed(noise)
        judge, history = train_judge(cfg, prompts, texts, labels, seed=7, val=val)
        scores.append(judge.score(prompts, texts))
    assert np.array_equal(scores[0], scores[1]) and (history or regime == "finetune")  # finetune logs every 10 steps
    judge.save(tmp_path, judge_spec(cfg))
    assert np.allclose(load_judge(tmp_path).score(prompts, texts), scores[1], atol=1e-6)


def test_a_short_run_logs_every_step_and_a_long_one_about_fifty_points(tmp_path):
    """The training curves `dvc plots show` draws come from the trainer's log: with a fixed
    `logging_steps: 10` a 7-step run (the real profile's 53 reward-model pairs) logged nothing and its
    chart was empty. The shared arguments log a ratio of the run's steps, and its first step."""
    import torch
    from transformers import Trainer, TrainingArguments

    from redditess.training import common_args, log_history_rows

    class Line(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, y):
            return {"loss": ((self.w * x - y) ** 2).mean()}

    def logged(n: int) -> list[dict]:
        data = [{"x": torch.tensor([float(i)]), "y": torch.tensor([2.0 * i])} for i in range(n)]
        args = common_args(0, epochs=1, batch_size=1, learning_rate=1e-3)
        args.update(output_dir=str(tmp_path / f"run{n}"), disable_tqdm=True)
        trainer = Trainer(model=Line(), args=TrainingArguments(**args), train_dataset=data)
        trainer.train()
        return log_history_rows(trainer.state.log_history, ["loss"])

    assert [r["step"] for r in logged(7)] == [1, 2, 3, 4, 5, 6, 7]
    long = logged(500)
    assert 45 <= len(long) <= 60 and long[0]["step"] == 1
    with pytest.raises(InputError, match="training logged no loss"):
        log_history_rows([{"train_runtime": 0.1, "step": 0}], ["loss"])


@pytest.mark.parametrize("arch", ["llama", "default"])
def test_samples_from_a_prompt_read_once_are_the_ones_generate_gives_from_repeated_prompts(arch, llama_dir):
    """redditess.sampling.prefilled: best-of-n reads each prompt once and repeats its KV cache; with
    greedy decoding (no randomness) every token equals what generate writes from n copies of the
    left-padded prompts, for the paper-style Llama and the default tiny model."""
    from redditess.sampling import load_causal, prefilled

    if arch == "llama":
        model, tok = load_causal(str(llama_dir), "cpu")
    else:  # the default profile's base model: a byte-level BPE tokenizer and a small GPT-2
        from redditess.lm import build_tiny_gpt2, train_tokenizer

        tok = train_tokenizer(CORPUS * 20, 300)
        tok.padding_side = "left"
        model = build_tiny_gpt2(tok, 32, 2, 2, n_positions=64).eval()
    rng = np.random.default_rng(0)
    prompts = [rng.integers(5, 200, size=n).tolist() for n in (3, 11, 7)]
    batch = tok.pad({"input_ids": prompts}, return_tensors="pt")
    # the logits at every step, not only the tokens: an untrained model's greedy tokens barely depend
    # on the positions, its logits do
    greedy = dict(do_sample=False, max_new_tokens=12, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                  output_logits=True, return_dict_in_generate=True)
    with torch.inference_mode():
        repeated = model.generate(input_ids=batch["input_ids"].repeat_interleave(4, 0),
                                  attention_mask=batch["attention_mask"].repeat_interleave(4, 0), **greedy)
        once = model.generate(**prefilled(model, batch, 4), **greedy)
    assert repeated.sequences.shape[0] == 12 and torch.equal(once.sequences, repeated.sequences)
    assert len(once.logits) == len(repeated.logits) == 12
    for a, b in zip(once.logits, repeated.logits, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
