"""LLM judges as correlated evidence: agreement reports each labeler against the rest and the
judges' error correlation; aggregation can merge judges of one family (or whose errors correlate)
into one voter before Dawid-Skene."""

import json

import numpy as np
import pandas as pd
import pytest

from redditess.aggregate import aggregate, summary, voters
from redditess.agreement import agreement, markdown
from redditess.config import AggregateConfig

from conftest import copy_pipeline, run_stage, write_params

N = 2000
OFFLINE = {"op_reply": (0.85, 0.80, 0.6), "community": (0.70, 0.88, 0.3), "general_feedback": (0.75, 0.60, 0.1)}


def _labeler(rng, truth, sens, spec, abstain):
    v = np.where(truth == 1, rng.random(len(truth)) < sens, rng.random(len(truth)) > spec).astype(float)
    v[rng.random(len(truth)) < abstain] = np.nan
    return v


def _flip(rng, v, share):
    out = v.copy()
    flip = (rng.random(len(v)) < share) & ~np.isnan(v)
    out[flip] = 1 - out[flip]
    return out


def _wide(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    wide = pd.DataFrame({"post_id": [f"p{i // 5:04d}" for i in range(N)], "comment_id": [f"c{i:05d}" for i in range(N)]})
    for name, v in columns.items():
        wide[name] = pd.array([None if np.isnan(x) else int(x) for x in v], dtype="Int8")
    return wide


@pytest.fixture(scope="module")
def labels():
    rng = np.random.default_rng(7)
    truth = (rng.random(N) < 0.6).astype(float)
    offline = {n: _labeler(rng, truth, *p) for n, p in OFFLINE.items()}
    judge = _labeler(rng, truth, 0.90, 0.65, 0.02)
    other = _labeler(rng, truth, 0.85, 0.75, 0.02)  # another family, erring independently
    return offline, judge, other, rng


def _reliability(wide, **cfg):
    _, rel = aggregate(wide, AggregateConfig(method="dawid_skene", **cfg), seed=0, families={"llm_a": "gpt", "llm_b": "gpt"})
    return rel


def _worst_gap(rel, base) -> float:
    return max(abs(rel[n][k] - base[n][k]) for n in OFFLINE for k in ("sensitivity", "specificity"))


def test_two_identical_judges_merged_leave_the_offline_reliabilities_within_005(labels):
    offline, judge, _, _ = labels
    base = _reliability(_wide(offline))
    twins = _wide({**offline, "llm_a": judge, "llm_b": judge})
    separate = _reliability(twins, merge_judges="none")
    assert separate["llm_a"]["specificity"] > 0.95  # the twins vouch for each other ...
    assert _worst_gap(separate, base) > 0.1  # ... and the offline labelers' reliabilities collapse
    for mode in ("family", "correlated"):
        merged = _reliability(twins, merge_judges=mode)
        assert set(merged) == {*OFFLINE, "llm_a+llm_b"}
        assert _worst_gap(merged, base) <= 0.05, (mode, merged, base)
        assert abs(merged["llm_a+llm_b"]["specificity"] - 0.65) < 0.05  # the merged voter's own, honest estimate


def test_merging_is_reported_in_the_metrics(labels):
    offline, judge, _, _ = labels
    wide = _wide({**offline, "llm_a": judge, "llm_b": judge})
    cfg = AggregateConfig(method="dawid_skene", merge_judges="family")
    families = {"llm_a": "gpt", "llm_b": "gpt"}
    ens, rel = aggregate(wide, cfg, 0, families)
    metrics = summary(ens, rel, voters(wide, cfg, families))
    assert metrics["voters"] == 4 and metrics["labelers_merged"] == 2 and metrics["merged_voter_llm_a+llm_b"] == 2
    assert {"vote_llm_a", "vote_llm_b"} <= set(ens.columns)  # every labeler's own vote is kept


def test_independent_judges_are_not_merged(labels):
    offline, judge, other, _ = labels
    wide = _wide({**offline, "llm_a": judge, "llm_c": other})
    groups = voters(wide, AggregateConfig(merge_judges="correlated"))
    assert [g for g in groups if len(g) > 1] == []
    groups = voters(wide, AggregateConfig(merge_judges="family"), {"llm_a": "gpt", "llm_c": "claude"})
    assert [g for g in groups if len(g) > 1] == []


def test_agreement_shows_each_labeler_against_the_rest_and_the_judges_error_correlation(labels):
    offline, judge, other, rng = labels
    sibling = _flip(rng, judge, 0.03)  # same family: the same mistakes, bar a few
    names = [*OFFLINE, "llm_a", "llm_b", "llm_c"]
    votes = np.column_stack([*offline.values(), judge, sibling, other])
    metrics, _ = agreement(votes, names, n_boot=0, seed=0)
    assert metrics["error_correlation_llm_a__llm_b"] > 0.8
    assert abs(metrics["error_correlation_llm_a__llm_c"]) < 0.2 and abs(metrics["error_correlation_llm_b__llm_c"]) < 0.2
    assert "error_correlation_op_reply__community" not in metrics  # judges only
    for n in names:
        assert -1 <= metrics[f"kappa_vs_rest_{n}"] <= 1
    assert metrics["kappa_vs_rest_llm_a"] > metrics["kappa_vs_rest_general_feedback"]  # the better labeler agrees more
    report = markdown(metrics, [], names)
    assert "## Judges' error correlation" in report and "| llm_a | llm_b |" in report


@pytest.mark.slow
def test_the_aggregate_and_agreement_stages_merge_and_report(tmp_path, labels):
    from redditess.io import write_table

    offline, judge, _, _ = labels
    repo = copy_pipeline(tmp_path / "r")
    judges = [{"name": n, "model": f"gpt-x-{n}", "family": "gpt-x"} for n in ("a", "b")]
    write_params(repo, {"label": {"judges": judges}, "agreement": {"bootstrap": 10},
                        "aggregate": {"method": "dawid_skene", "merge_judges": "family"}})
    wide = _wide({**offline, "llm_a": judge, "llm_b": judge})
    n = len(wide)  # units in which every offline labeler's signal is observable (redditess.observability)
    units = wide[["post_id", "comment_id"]].assign(comment_score=pd.array(range(n), dtype="Int64"), post_edit="EDIT: thanks all",
                                                   general_feedback=[["thank you"]] * n, op_replies=[["thanks"]] * n)
    write_table(repo / "data/threads.parquet", units, ["post_id", "comment_id"])
    for name in [*OFFLINE, "llm_a", "llm_b"]:
        frame = wide[["post_id", "comment_id"]].assign(labeler=name, label=wide[name])
        write_table(repo / f"data/votes/{name}.parquet", frame, ["post_id", "comment_id"])
    run_stage(repo, "aggregate")
    run_stage(repo, "agreement")
    metrics = json.loads((repo / "metrics/aggregate.json").read_text())
    assert metrics["merged_voter_llm_a+llm_b"] == 2 and "sensitivity_llm_a+llm_b" in metrics
    assert json.loads((repo / "metrics/agreement.json").read_text())["kappa_vs_rest_llm_a"] is not None
