"""A Llama-shaped policy saved in bf16 (as the hub checkpoints are), trained by the real sft,
reward_model, ppo and dpo stages at the paper profile's learning rates: every stage must change
(almost) every trainable weight -- in full fine-tuning and with LoRA. The same PPO step in pure bf16
(the old accident) is measured too, so the test is seen to be able to fail."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import load_file

from redditess.config import deep_merge
from redditess.tiny_llama import llama3_style_tokenizer, llama_model, save_bf16

from conftest import ROOT, TINY, run_stage, write_params

pytestmark = pytest.mark.slow

PAPER = yaml.safe_load((ROOT / "profiles" / "paper.yaml").read_text())
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.fixture(scope="module")
def data_repo(tiny_data_repo) -> Path:
    return tiny_data_repo


@pytest.fixture(scope="module")
def llama_bf16(data_repo) -> Path:
    import pandas as pd

    train = pd.read_parquet(data_repo / "data/split/train.parquet")
    texts = (train.post_title + "\n" + train.post_body).tolist() + train.comment_body.tolist()
    tok = llama3_style_tokenizer(texts, vocab_size=500)
    return save_bf16(llama_model(tok), tok, data_repo.parent / "llama-bf16")


def paper_overlay(llama: Path, lora: bool) -> dict:
    """TINY's sizes with the paper profile's learning rates and the bf16 Llama as the base model."""
    return deep_merge(TINY, {
        "sft": {"base_model": str(llama), "learning_rate": PAPER["sft"]["learning_rate"]},
        "reward_model": {"learning_rate": PAPER["reward_model"]["learning_rate"]},
        "ppo": {"learning_rate": PAPER["ppo"]["learning_rate"], "total_episodes": 16},
        "rloo": {"learning_rate": PAPER["rloo"]["learning_rate"]},
        "dpo": {"learning_rate": PAPER["dpo"]["learning_rate"]},
        "training": {"lora": {"enabled": lora, "r": 4}},
    })


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in load_file(folder / "model.safetensors").items()}


def changed_share(before: dict, after: dict, select) -> float:
    """Share of the selected weights' elements whose value changed."""
    names = [k for k in after if k in before and select(k)]
    assert names, "no weights selected"
    changed = sum(int((after[k] != before[k]).sum()) for k in names)
    return changed / sum(after[k].numel() for k in names)


def trained(name: str, lora: bool) -> bool:
    """What a stage trains: everything (full) or the LoRA-adapted linear layers (merged on save)."""
    return any(t in name for t in LORA_TARGETS) if lora else True


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_every_stage_changes_its_trainable_weights_at_paper_learning_rates(data_repo, llama_bf16, tmp_path, lora):
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(data_repo, repo, symlinks=True)
    write_params(repo, paper_overlay(llama_bf16, lora))
    for name in ("sft", "reward_model", "ppo", "rloo", "dpo"):
        run_stage(repo, name)

    base, sft, rm = weights(llama_bf16), weights(repo / "models/sft/0"), weights(repo / "models/reward_model/0")
    assert all(v.dtype == torch.float32 for v in load_file(repo / "models/sft/0/model.safetensors").values())
    shares = {
        "sft": changed_share(base, sft, lambda k: trained(k, lora)),
        # the reward model's backbone (its score head is new). Its input embeddings are measured apart:
        # with no output head tied to them, only the rows of tokens in the training pairs get a gradient.
        "reward_model": changed_share(sft, rm, lambda k: trained(k, lora) and "embed_tokens" not in k),
        "ppo": changed_share(sft, weights(repo / "models/ppo/0"), lambda k: trained(k, lora)),
        "rloo": changed_share(sft, weights(repo / "models/rloo/0"), lambda k: trained(k, lora)),
        "dpo": changed_share(sft, weights(repo / "models/dpo/0"), lambda k: trained(k, lora)),
    }
    assert all(share >= 0.9 for share in shares.values()), shares
    if not lora:  # the reward model's embedding rows: changed exactly for the tokens it was trained on
        from redditess.lm import load_tokenizer, preference_rows, reward_rows, sequence_length

        tok = load_tokenizer(repo / "models/sft/0")
        pairs = preference_rows(tok, pd.read_parquet(repo / "data/split/pairs_train.parquet"),
                                pd.read_parquet(repo / "data/threads.parquet"), TINY["sft"]["max_prompt_tokens"],
                                TINY["sft"]["max_response_tokens"])
        max_length = sequence_length(tok, TINY["sft"]["max_prompt_tokens"], TINY["sft"]["max_response_tokens"])
        kept = [r for r in reward_rows(pairs) if max(len(r["chosen_ids"]), len(r["rejected_ids"])) <= max_length]
        assert kept  # RewardTrainer drops longer pairs, and the stage counts them
        dropped = json.loads((repo / "metrics/reward_model/0.json").read_text())["train_pairs_dropped_too_long"]
        assert dropped == len(pairs) - len(kept)
        used = sorted({t for r in kept for t in r["chosen_ids"] + r["rejected_ids"]})
        unused = sorted(set(range(len(tok))) - set(used))
        emb_before, emb_after = sft["model.embed_tokens.weight"], rm["model.embed_tokens.weight"]
        assert (emb_after[used] != emb_before[used]).float().mean() >= 0.9
        assert torch.equal(emb_after[unused], emb_before[unused])
    if lora:  # the adapters, not the whole model, were trained: embeddings and norms are untouched
        untouched = changed_share(sft, weights(repo / "models/dpo/0"), lambda k: not trained(k, True))
        assert untouched == 0.0
    else:  # the accident this guards against: pure bf16 weights and optimiser state at lr 1e-6
        write_params(repo, deep_merge(paper_overlay(llama_bf16, lora),
                                      {"training": {"dtype": "bf16", "pure_low_precision": True}}))
        proc = run_stage(repo, "ppo")
        assert "pure_low_precision" in proc.stderr
        sft_bf16 = {k: v.to(torch.bfloat16).float() for k, v in sft.items()}  # what the pure run started from
        pure = changed_share(sft_bf16, weights(repo / "models/ppo/0"), lambda k: True)
        assert pure < 0.5, f"pure bf16 PPO changed {pure:.1%} of the policy (expected the old accident's ~2%)"
