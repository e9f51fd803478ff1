"""benchmarks/paper_scale.py: the tiny configuration runs every stage on CPU and reports speed and
the share of weights changed; the Llama-3.2-1B shape is the real one, built without a download."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def test_the_llama_3_2_1b_shape_has_its_1_24_billion_parameters_without_a_download():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from paper_scale import shape_for

    with torch.device("meta"):  # no memory, no weights, no hub
        model = LlamaForCausalLM(LlamaConfig(**shape_for("llama-3.2-1b")))
    assert model.num_parameters() == 1_235_814_400  # as published (tied embeddings)


@pytest.mark.slow
def test_tiny_benchmark_runs_every_stage_on_cpu(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "paper_scale.py"), "--model", "tiny", "--steps", "2",
                           "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    stages = {s["stage"]: s for s in report["stages"]}
    assert set(stages) == {"sft", "reward_model", "ppo", "dpo"}
    assert report["setup"]["dtype"] == "fp32" and report["setup"]["device"] == "CPU"
    for s in stages.values():
        assert s["steps_per_s"] > 0 and s["tokens_per_s"] > 0
        assert s["changed_share"] >= 0.9, s  # paper learning rates, fp32 master weights
    assert "tokens/s" in proc.stdout
