"""Replicates of the model stages: each replicate's seed comes from the one `seed` (replicate 0
keeps a single run's streams), a stage run names its replicate, and one outside `seeds` is one line."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from redditess.replicates import mean_sd, replicate_from_argv, replicate_seed, seed_ci
from redditess.runtime import InputError, derive_seed

from conftest import copy_pipeline, run_stage, stage_env, write_params


def test_replicate_zero_keeps_the_single_run_seed_and_the_others_get_their_own():
    for purpose in ("sft", "reward_model", "ppo", "dpo", "generate"):
        seeds = [replicate_seed(20240917, purpose, r) for r in range(4)]
        assert seeds[0] == derive_seed(20240917, purpose)
        assert len(set(seeds)) == 4
        assert replicate_seed(1, purpose, 2) != replicate_seed(20240917, purpose, 2)  # `seed` feeds every replicate


def test_a_stage_run_names_its_replicate():
    assert replicate_from_argv([0, 1, 2], []) == 0
    assert replicate_from_argv([3, 5], []) == 3  # no argument: the first replicate
    assert replicate_from_argv([0, 1, 2], ["2"]) == 2
    with pytest.raises(InputError, match=r"replicate 7 is not in params.yaml's seeds \[0, 1, 2\]"):
        replicate_from_argv([0, 1, 2], ["7"])
    with pytest.raises(InputError, match="usage"):
        replicate_from_argv([0, 1, 2], ["one"])


def test_mean_sd_and_the_t_interval_on_written_numbers():
    assert mean_sd([0.70, 0.72, 0.74]) == pytest.approx((0.72, 0.02))
    low, high = seed_ci([0.70, 0.72, 0.74])
    assert (low, high) == pytest.approx((0.72 - 4.302653 * 0.02 / math.sqrt(3), 0.72 + 4.302653 * 0.02 / math.sqrt(3)))
    mean, sd = mean_sd([0.5])
    assert mean == 0.5 and math.isnan(sd) and all(math.isnan(v) for v in seed_ci([0.5]))


def test_a_replicate_outside_seeds_stops_the_stage_and_the_launcher_with_one_line(tmp_path):
    repo = copy_pipeline(tmp_path / "r")  # no data/: the stages must stop before reading any
    write_params(repo, {"seeds": [0, 1, 2]})
    proc = run_stage(repo, "generate", "7", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: replicate 7 is not in params.yaml's seeds [0, 1, 2]"]
    proc = subprocess.run([sys.executable, "-m", "redditess.launch", "stages/sft.py", "7"], cwd=repo,
                          env=stage_env(repo), capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: replicate 7 is not in params.yaml's seeds [0, 1, 2]"]
