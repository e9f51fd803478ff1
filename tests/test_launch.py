"""Training stages under `accelerate launch` (python -m redditess.launch): two CPU processes
(gloo) train and save one model; a config asking for GPUs this machine lacks stops with one line."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM

from conftest import TINY, copy_pipeline, stage_env, write_params


def launch(repo, script):
    return subprocess.run([sys.executable, "-m", "redditess.launch", script], cwd=repo, env=stage_env(repo),
                          capture_output=True, text=True)


@pytest.mark.slow
def test_sft_trains_in_two_cpu_processes_and_saves_one_model(tiny_data_repo, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(tiny_data_repo, repo, symlinks=True)
    write_params(repo, {**TINY, "training": {"accelerate_config": "accelerate_configs/cpu_ddp.yaml"}})
    proc = launch(repo, "stages/sft.py")
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert proc.stderr.count("trained in 2 process(es) on cpu") == 2  # both ranks trained (gloo) ...
    model = AutoModelForCausalLM.from_pretrained(repo / "models/sft/0")  # ... and one of them saved
    assert model.num_parameters() > 0 and (repo / "metrics/sft/0.json").exists()
    assert not list(repo.glob("models/*/.*"))  # no leftover temporary folder from the other rank


def test_more_gpus_than_exist_stops_the_launcher_with_one_line(tmp_path):
    if torch.cuda.device_count() >= 4:
        pytest.skip("this machine has the GPUs")
    repo = copy_pipeline(tmp_path / "r")
    write_params(repo, {"training": {"accelerate_config": "accelerate_configs/multi_gpu.yaml"}})
    proc = launch(repo, "stages/sft.py")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: training.accelerate_config: ")
    assert "multi_gpu.yaml asks for 4 GPU(s)" in lines[0]


def test_a_dtype_the_device_cannot_run_stops_the_launcher_with_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("fp16 runs on this machine")
    repo = copy_pipeline(tmp_path / "r")
    write_params(repo, {"training": {"dtype": "fp16"}})
    proc = launch(repo, "stages/sft.py")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: training.dtype: fp16 mixed precision needs a CUDA GPU and none is visible; "
                                   "use bf16 or fp32")


def test_vllm_asked_for_but_not_installed_is_one_line(tmp_path):
    import importlib.util

    from conftest import run_stage

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    repo = copy_pipeline(tmp_path / "r")
    write_params(repo, {"generate": {"engine": "vllm"}})
    proc = run_stage(repo, "generate", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: generate.engine: vllm is not installed (pip install 'redditess[vllm]' on a GPU machine)"]


def test_bad_training_params_stop_the_sft_stage_with_one_line_before_loading(tmp_path):
    """A LoRA target the model lacks and an unknown trainer field, through the real stage: one line
    each, exit 2, before any data or weights are read."""
    from redditess.tiny_llama import llama3_style_tokenizer, llama_model, save_bf16

    from conftest import run_stage

    tok = llama3_style_tokenizer(["a small corpus for a small tokenizer"] * 10, vocab_size=300)
    llama = save_bf16(llama_model(tok), tok, tmp_path / "llama")
    repo = copy_pipeline(tmp_path / "r")  # no data/: the stage must stop before reading any
    cases = [
        ({"sft": {"base_model": str(llama)}, "training": {"lora": {"enabled": True, "target_modules": ["c_attn"]}}},
         "error: training.lora.target_modules: 'c_attn' is not a module of "),
        ({"sft": {"trainer_args": {"pakcing": True}}},
         "error: params.yaml: sft.trainer_args.pakcing is not a field of trl's SFTConfig"),
    ]
    for overlay, line in cases:
        write_params(repo, overlay)
        proc = run_stage(repo, "sft", check=False)
        assert proc.returncode == 2, proc.stderr[-2000:]
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(line), lines
