"""The online RL stages end to end on TINY data: ppo and rloo train from the same SFT model and reward
model, sample as many responses, write their models, metrics, training curves and over-optimisation
curves (plots/<arm>_curve/<i>.csv) with the columns dvc.yaml's plots read."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from conftest import TINY, run_stage

CURVE_COLUMNS = ["arm", "step", "kl", "proxy_reward", "gold_score", "gold_rate", "truncated_share", "mode_sentence_share",
                 "mean_words"]


@pytest.fixture(scope="module")
def rl_repo(tiny_data_repo, tmp_path_factory):
    repo = tmp_path_factory.mktemp("rl") / "repo"
    shutil.copytree(tiny_data_repo, repo, symlinks=True)
    for name in ("sft", "reward_model", "ppo", "rloo"):
        run_stage(repo, name, "0")
    return repo


@pytest.mark.parametrize("arm", ["ppo", "rloo"])
def test_an_rl_stage_writes_its_model_metrics_and_over_optimisation_curve(rl_repo, arm):
    assert (rl_repo / f"models/{arm}/0/model.safetensors").exists()
    metrics = json.loads((rl_repo / f"metrics/{arm}/0.json").read_text())
    assert metrics["episodes"] == TINY["ppo"]["total_episodes"]  # the same number of sampled responses
    updates = metrics["updates"]
    assert updates >= 1
    curve = pd.read_csv(rl_repo / f"plots/{arm}_curve/0.csv")
    assert list(curve.columns) == CURVE_COLUMNS
    assert (curve.arm == arm).all()
    # probes: the starting policy (step 0, KL 0: it is the reference) and evenly spaced updates up to the last
    assert curve.step.iloc[0] == 0 and curve.step.iloc[-1] == updates
    assert len(curve) == min(TINY["overopt"]["probes"], updates) + 1
    assert abs(curve.kl.iloc[0]) < 1e-4
    assert curve.proxy_reward.notna().all() and curve.gold_score.notna().any()  # the demo has gold
    assert curve[["truncated_share", "mode_sentence_share"]].apply(lambda c: c.between(0, 1)).all().all()
    assert metrics["probe_kl_start"] == pytest.approx(curve.kl.iloc[0])
    assert metrics["probe_truncated_share_end"] == pytest.approx(curve.truncated_share.iloc[-1])
    training = pd.read_csv(rl_repo / f"plots/{arm}/0.csv")
    assert len(training) == updates


def test_ppo_runs_the_audited_settings_and_reports_finishing(rl_repo):
    m = json.loads((rl_repo / "metrics/ppo/0.json").read_text())
    assert m["value_warmup_updates"] == TINY["ppo"]["value_warmup_updates"] and m["missing_eos_penalty"] == 1.0
    assert 0 <= m["finished_share_last_quarter"] <= 1
    assert "objective_scores" in (rl_repo / "plots/ppo/0.csv").read_text().splitlines()[0]


def test_rloo_reports_its_reward_shaping(rl_repo):
    m = json.loads((rl_repo / "metrics/rloo/0.json").read_text())
    assert m["shaping_unfinished_penalty"] == 1.0 and m["shaping_repetition_penalty"] == 1.0
    assert m["num_generations"] == TINY["rloo"]["num_generations"]
    # penalties are <= 0; the unfinished penalty's mean is minus the penalty times the share cut off
    assert m["shaping_unfinished_penalty_last_quarter"] <= 0 and m["shaping_repetition_penalty_reward_last_quarter"] <= 0
    curve = pd.read_csv(rl_repo / "plots/rloo/0.csv")
    assert curve.rewards_unfinished_penalty_mean.tolist() == pytest.approx((-curve.completions_clipped_ratio).tolist(), abs=1e-6)
    assert {"rewards_reward_model_mean", "rewards_repetition_penalty_reward_mean", "kl"} <= set(curve.columns)


def test_both_rl_arms_start_from_the_same_policy_and_reward_model(rl_repo):
    """Step 0 of both curves is the SFT policy probed with the same seed and scored by the same reward
    model: the same point, so the curves share their origin (and best-of-n's n = 1 sits next to it)."""
    ppo, rloo = (pd.read_csv(rl_repo / f"plots/{arm}_curve/0.csv").iloc[0] for arm in ("ppo", "rloo"))
    for col in ("proxy_reward", "gold_score", "truncated_share", "mode_sentence_share", "mean_words"):
        assert ppo[col] == pytest.approx(rloo[col]), col
