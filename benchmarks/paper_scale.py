"""Paper-scale training benchmark: a fixed number of SFT, reward-model, PPO and DPO steps with the
paper profile's settings, on a Llama-shaped model with random weights (no download).

    python benchmarks/paper_scale.py --model tiny                      # CPU, seconds
    python benchmarks/paper_scale.py --model llama-3.2-1b --steps 4    # the Llama-3.2-1B shape, one GPU
    python benchmarks/paper_scale.py --model llama-3.2-1b --lora       # the same with LoRA
    python benchmarks/paper_scale.py --model path/to/config.json       # any LlamaConfig
    accelerate launch --config_file accelerate_configs/multi_gpu.yaml benchmarks/paper_scale.py ...

The checkpoint is saved in bf16 (as the hub's is) and loaded through the stages' own code
(redditess.training: fp32 master weights, ``--dtype`` autocast, LoRA). Per stage it prints steps/s
(PPO: updates/s, rollouts included), tokens/s (prompt + response tokens trained on per second; PPO:
batch x (prompt + response) x num_ppo_epochs per update), peak GPU memory and the share of trainable
weights the steps changed, and writes them as JSON with ``--out``. The first steps include warm-up:
use more ``--steps`` for steady-state figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from redditess.config import LoraSettings, TrainingConfig  # noqa: E402
from redditess.tiny_llama import LLAMA_3_2_1B, TINY, llama3_style_tokenizer, llama_model, save_bf16  # noqa: E402
from redditess.training import (is_main_process, load_model, lora_config, pretokenized_dpo_trainer,  # noqa: E402
                                trainer_config, with_lora)  # noqa: E402

PAPER = yaml.safe_load((ROOT / "profiles" / "paper.yaml").read_text())
WORDS = "i feel alone sleep work friends family talk help hear you that sounds hard reaching out took courage".split()


def shape_for(name: str) -> dict:
    if name == "tiny":
        return dict(TINY)
    if name == "llama-3.2-1b":
        return dict(LLAMA_3_2_1B)
    keep = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "max_position_embeddings", "rms_norm_eps", "rope_theta", "tie_word_embeddings", "vocab_size"}
    return {k: v for k, v in json.loads(Path(name).read_text()).items() if k in keep}


def snapshot(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().float().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def changed_share(before: dict, model) -> float:
    after = {n: p.detach().float().cpu() for n, p in model.named_parameters() if n in before}
    changed = sum(int((after[n] != before[n]).sum()) for n in before)
    return changed / max(1, sum(v.numel() for v in before.values()))


def measure(name: str, trainer, model, steps: int, tokens_per_step: int) -> dict:
    before = snapshot(model)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.train()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"stage": name, "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds,
            "tokens_per_s": steps * tokens_per_step / seconds,
            "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
            "trainable_params": sum(v.numel() for v in before.values()),
            "changed_share": changed_share(before, model)}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny", help="tiny, llama-3.2-1b, or a config.json path")
    ap.add_argument("--steps", type=int, default=4, help="optimiser steps (PPO: updates) per stage")
    ap.add_argument("--lora", action="store_true")
    ap.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], default=None,
                    help="default: the paper profile's (bf16) on a GPU, fp32 on CPU")
    ap.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--batch-size", type=int, default=None, help="micro-batch per device; default: the paper profile's per stage")
    ap.add_argument("--gradient-accumulation-steps", type=int, default=1,
                    help="micro-batches per optimiser step (PPO: per update), as training.gradient_accumulation_steps")
    ap.add_argument("--prompt-tokens", type=int, default=None, help="default: paper (384), tiny: 48")
    ap.add_argument("--response-tokens", type=int, default=None, help="default: paper (192), tiny: 24")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from datasets import Dataset
    from trl import DPOConfig, RewardConfig, RewardTrainer, SFTConfig, SFTTrainer
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    tiny = args.model == "tiny"
    gpu = torch.cuda.is_available()
    paper_training = PAPER.get("training", {})
    dtype = args.dtype or (paper_training.get("dtype", "bf16") if gpu else "fp32")
    checkpointing = args.gradient_checkpointing
    if checkpointing is None:
        checkpointing = bool(paper_training.get("gradient_checkpointing", False)) and not tiny
    training = TrainingConfig(dtype=dtype, gradient_checkpointing=checkpointing,
                              lora=LoraSettings(enabled=args.lora, r=16),
                              gradient_accumulation_steps=args.gradient_accumulation_steps)
    P = args.prompt_tokens or (48 if tiny else PAPER["sft"]["max_prompt_tokens"])
    R = args.response_tokens or (24 if tiny else PAPER["sft"]["max_response_tokens"])
    bs = {k: args.batch_size or (8 if tiny else PAPER[k]["batch_size"]) for k in ("sft", "reward_model", "ppo", "dpo")}
    n = args.steps
    ga = args.gradient_accumulation_steps
    bs_step = {k: v * ga for k, v in bs.items()}  # examples per optimiser step (PPO: episodes per update)

    tok = llama3_style_tokenizer([" ".join(WORDS)] * 50, vocab_size=300)
    tok.pad_token = tok.eos_token
    tmp = Path(tempfile.mkdtemp(prefix="paper-scale-"))
    built = llama_model(tok, shape_for(args.model))
    n_params = built.num_parameters()
    base = save_bf16(built, tok, tmp / "base")
    del built
    vocab = len(tok)
    g = torch.Generator().manual_seed(0)

    def ids(k: int) -> list[int]:
        return torch.randint(10, vocab, (k,), generator=g).tolist()

    def rows(count: int) -> list[dict]:
        return [{"prompt_ids": [tok.bos_token_id] + ids(P - 1), "chosen_ids": ids(R - 1) + [tok.eos_token_id],
                 "rejected_ids": ids(R - 1) + [tok.eos_token_id]} for _ in range(count)]

    def cfg(cls, stage, batch, **kw):
        lr = PAPER[stage]["learning_rate"]
        return trainer_config(cls, 0, training, {"logging_steps": 1, "disable_tqdm": True}, f"{stage}.trainer_args",
                              epochs=None if cls is PPOConfig else 1, batch_size=batch, learning_rate=lr, **kw)

    results = []
    # SFT
    model = load_model(base, training)
    data = [{"input_ids": r["prompt_ids"] + r["chosen_ids"], "completion_mask": [0] * P + [1] * R}
            for r in rows(n * bs_step["sft"])]
    trainer = SFTTrainer(model=model, args=cfg(SFTConfig, "sft", bs["sft"], max_length=P + R, max_steps=n),
                         train_dataset=Dataset.from_list(data), processing_class=tok, peft_config=lora_config(training))
    results.append(measure("sft", trainer, trainer.model, n, bs_step["sft"] * (P + R)))
    del model, trainer
    # reward model
    model = with_lora(load_model(base, training, kind="reward"), training, "SEQ_CLS")
    model.config.pad_token_id = tok.pad_token_id
    data = [{"chosen_ids": r["prompt_ids"] + r["chosen_ids"], "rejected_ids": r["prompt_ids"] + r["rejected_ids"]}
            for r in rows(n * bs_step["reward_model"])]
    trainer = RewardTrainer(model=model, args=cfg(RewardConfig, "reward_model", bs["reward_model"], max_length=P + R,
                                                  max_steps=n),
                            train_dataset=Dataset.from_list(data), processing_class=tok)
    results.append(measure("reward_model", trainer, model, n, bs_step["reward_model"] * 2 * (P + R)))
    del model, trainer
    # PPO: policy, value (trained), reference (LoRA: adapters disabled), reward model (frozen)
    policy = load_model(base, training)
    ref = None if args.lora else load_model(base, training)
    reward = load_model(base, training, kind="reward")
    value = with_lora(load_model(base, training, kind="reward"), training, "SEQ_CLS")
    for m in (policy, ref, reward, value):
        if m is not None:
            m.config.pad_token_id = tok.pad_token_id
    ppo = PAPER["ppo"]
    args_ppo = cfg(PPOConfig, "ppo", bs["ppo"], total_episodes=n * bs_step["ppo"], num_ppo_epochs=ppo["num_ppo_epochs"],
                   num_mini_batches=1, local_rollout_forward_batch_size=bs["ppo"], response_length=R,
                   stop_token="eos", temperature=ppo["temperature"], kl_coef=ppo["kl_coef"],
                   num_sample_generations=0, missing_eos_penalty=1.0)
    trainer = PPOTrainer(args=args_ppo, processing_class=tok, model=policy, ref_model=ref, reward_model=reward,
                         value_model=value, peft_config=lora_config(training),
                         train_dataset=Dataset.from_dict({"input_ids": [r["prompt_ids"] for r in rows(n * bs_step["ppo"])]}))
    results.append(measure("ppo", trainer, trainer.policy_model, n, bs_step["ppo"] * (P + R) * ppo["num_ppo_epochs"]))
    del policy, ref, reward, value, trainer
    # DPO
    model = load_model(base, training)
    args_dpo = cfg(DPOConfig, "dpo", bs["dpo"], beta=PAPER["dpo"]["beta"], max_length=P + R, max_steps=n)
    trainer = pretokenized_dpo_trainer()(model=model, args=args_dpo,
                                         train_dataset=Dataset.from_list(rows(n * bs_step["dpo"])), processing_class=tok,
                                         peft_config=lora_config(training))
    results.append(measure("dpo", trainer, trainer.model, n, bs_step["dpo"] * 2 * (P + R)))

    if is_main_process():
        device = torch.cuda.get_device_name(0) if gpu else "CPU"
        head = dict(model=args.model, lora=args.lora, dtype=dtype, gradient_checkpointing=checkpointing, device=device,
                    prompt_tokens=P, response_tokens=R, batch_sizes=bs, gradient_accumulation_steps=ga, parameters=n_params)
        print(json.dumps(head))
        print(f"{'stage':<13} {'steps/s':>8} {'tokens/s':>10} {'peak GiB':>9} {'changed':>8}")
        for r in results:
            peak = f"{r['peak_gpu_gib']:.1f}" if r["peak_gpu_gib"] is not None else "-"
            print(f"{r['stage']:<13} {r['steps_per_s']:>8.3f} {r['tokens_per_s']:>10.0f} {peak:>9} "
                  f"{r['changed_share']:>8.1%}")
        if args.out:
            args.out.write_text(json.dumps({"setup": head, "stages": results}, indent=2, sort_keys=True))
    return results


if __name__ == "__main__":
    main()
