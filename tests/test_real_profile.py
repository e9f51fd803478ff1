"""The real-data CPU profile (profiles/real.yaml) through `evaluate` with real `dvc`, on the shared
real threads (skipped when absent), at the tiny model sizes of the other pipeline tests."""

from __future__ import annotations

import json

import pytest
import yaml
from test_pipeline import init_repo, sh

from redditess.config import deep_merge, params_from_dict

from conftest import ROOT, TINY

pytestmark = pytest.mark.slow


def test_real_profile_is_valid_params():
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    real = yaml.safe_load((ROOT / "profiles/real.yaml").read_text())
    params = params_from_dict(deep_merge(base, real), "profiles/real.yaml")
    assert params.collect.source == "dump" and not params.threads.filters.require_edited_post
    assert params.sft.base_model == "tiny" and params.classifier.base_model == "minilm"  # CPU, offline


def test_real_profile_runs_through_evaluate_on_shared_data(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("REDDITESS_SALT", "real-profile-test-salt-0123456789")
    real = yaml.safe_load((ROOT / "profiles/real.yaml").read_text())
    where = {"collect": {"dump": {"root": str(shared_data), "paths": [str(shared_data / "red-mhs" / "*.ndjson")]}}}
    overlay = deep_merge(deep_merge(real, TINY), where)
    repo = init_repo(tmp_path / "repo", overlay)
    sh(repo, "dvc", "repro")  # the whole graph: evaluate, and datacard, agreement, dimensions beside it
    metrics = {p.stem: json.loads(p.read_text()) for p in (repo / "metrics").glob("*.json")}
    assert metrics["threads"]["units"] > 300
    agg = metrics["aggregate"]
    # dyadic real threads: no scores, no edits -> those labelers are excluded, not silent abstainers
    assert agg["observable_community"] == 0 and agg["observable_general_feedback"] == 0
    # the OP-reply evidence rule abstains on follow-up questions and on the OP's own distress (issue 18)
    assert agg["abstain_share_op_reply"] < 0.35 and not any(k.startswith("sensitivity_") for k in agg)
    assert metrics["split"]["train_pairs"] > 0
    assert metrics["classifier"]["train_n"] > 0 and "test_roc_auc" in metrics["classifier"]
    sft = json.loads((repo / "metrics/evaluate/arms/sft.json").read_text())
    assert "judge_rate" in sft and "gold_rate" not in sft  # real posts: no gold, the judges decide
    assert sft["provenance"]["profile"] == "real" and sft["provenance"]["source"] == "dump"
    assert (repo / "reports/datacard.md").read_text().splitlines()[2].startswith("**These data are real Reddit records**")
    card = json.loads((repo / "reports/datacard.json").read_text())
    assert card["labelers"]["op_reply"]["abstain_share"] == agg["abstain_share_op_reply"]
    assert "tagger_recall_explorations" in metrics["dimensions"] and metrics["dimensions"]["labeled"] > 200
    assert "Running stage" not in sh(repo, "dvc", "repro")
