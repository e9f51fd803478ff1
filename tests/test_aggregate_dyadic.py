"""Every aggregation method on dyadic threads (one comment per post, no edits, no scores): only the
OP-reply labeler can vote, and each method must label by its votes or stop with one line."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from redditess.aggregate import aggregate, fallback_notes, votes_matrix
from redditess.config import AggregateConfig, LabelConfig
from redditess.io import write_table
from redditess.labelers import OFFLINE_LABELERS
from redditess.observability import observable_labelers
from redditess.runtime import InputError

from conftest import ROOT

METHODS = ["paper", "majority", "weighted", "dawid_skene"]
REPLIES = ["Thank you so much, this really helps", "That didn't help at all.", "I'll try that tonight, thanks",
           "ok", "You don't get it.", "Same here, it's so hard", "I completely agree", "I already tried that",
           "How long did it take for you?", "Appreciate it!"]


def _synthetic(n: int = 40) -> pd.DataFrame:
    """Dyadic units: one comment per post, no edit, no score, one OP reply each."""
    return pd.DataFrame({
        "post_id": [f"p{i:03d}" for i in range(n)], "comment_id": [f"c{i:03d}" for i in range(n)],
        "post_edit": [""] * n, "general_feedback": [[] for _ in range(n)],
        "comment_score": pd.array([None] * n, dtype="Int64"), "op_replies": [[REPLIES[i % len(REPLIES)]] for i in range(n)],
    })


def _real(shared_data, tmp_path) -> pd.DataFrame:
    from redditess.config import DumpConfig, FilterConfig
    from redditess.sources.dump import RecordStore, read_dumps
    from redditess.threads import build_units

    store = RecordStore(tmp_path / "store.sqlite")
    read_dumps(DumpConfig(paths=[str(shared_data / "red-mhs" / "*.ndjson")]), False, store)
    units, _, _ = build_units(list(store.records("submission")), list(store.records("comment")),
                              FilterConfig(require_edited_post=False), set())
    return units


def _votes(units: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The offline labelers' votes with the unobservable ones dropped, as stages/aggregate.py does."""
    wide = votes_matrix([fn(units, LabelConfig()) for fn in OFFLINE_LABELERS.values()])
    observable = observable_labelers(units, list(OFFLINE_LABELERS))
    kept = [n for n, ok in observable.items() if ok]
    return wide[["post_id", "comment_id", *kept]], kept


def _check_every_method(units: pd.DataFrame) -> None:
    wide, kept = _votes(units)
    assert kept == ["op_reply"]  # dyadic: no edits, no scores
    own = wide["op_reply"]
    assert own.notna().sum() > 0 and own.nunique() == 2
    for method in METHODS:
        ens, reliability = aggregate(wide, AggregateConfig(method=method, precedence=["op_reply"]), seed=1)
        voted = own.notna().to_numpy()
        assert ens.label.notna().to_numpy().tolist() == voted.tolist(), method  # labels every comment it voted on
        assert (ens.label[voted].astype(int).to_numpy() == own[voted].astype(int).to_numpy()).all(), method
        notes = fallback_notes(ens)
        assert notes["single_voter_op_reply"] == 1 and notes["voters_active"] == 1, (method, notes)
        assert np.isnan(reliability["op_reply"]["sensitivity"])  # nothing to estimate it from


def test_every_method_labels_synthetic_dyadic_threads_by_the_one_voter():
    _check_every_method(_synthetic())


def test_every_method_labels_the_real_dyadic_threads_by_the_one_voter(shared_data, tmp_path):
    units = _real(shared_data, tmp_path)
    assert len(units) > 300 and (units.groupby("post_id").size() == 1).mean() > 0.95
    _check_every_method(units)


def test_a_voter_without_reliability_next_to_others_still_labels_its_own_comments():
    """weighted used to give a voter that never voted next to another one weight 0: its comments
    went unlabeled. Here a and b vote together on c0-c3; c alone on c4-c5."""
    rows = [(1, 1, None), (0, 0, None), (1, 0, None), (1, 1, None), (None, None, 1), (None, None, 0)]
    frames = [pd.DataFrame({"post_id": "p", "comment_id": [f"c{i}" for i in range(len(rows))], "labeler": n,
                            "label": pd.array([r[j] for r in rows], dtype="Int8"), "score": 0.0})
              for j, n in enumerate(["a", "b", "c"])]
    wide = votes_matrix(frames)
    for method in METHODS:
        ens, _ = aggregate(wide, AggregateConfig(method=method, precedence=["a", "b", "c"]))
        assert ens.label.iloc[4:].tolist() == [1, 0], method
        assert fallback_notes(ens)["labels_from_voters_without_reliability"] == 2, method


def test_a_method_that_can_label_nothing_stops_with_one_line():
    rows = [(1, 0), (0, 1), (1, 0)]  # two voters who always disagree: majority ties everywhere
    frames = [pd.DataFrame({"post_id": "p", "comment_id": [f"c{i}" for i in range(len(rows))], "labeler": n,
                            "label": pd.array([r[j] for r in rows], dtype="Int8"), "score": 0.0})
              for j, n in enumerate(["a", "b"])]
    with pytest.raises(InputError, match=r"^aggregate.method majority: labels none of the 3 comments that a, b voted on"):
        aggregate(votes_matrix(frames), AggregateConfig(method="majority", precedence=["a", "b"]))


@pytest.mark.parametrize("method", METHODS)
def test_the_aggregate_stage_labels_dyadic_threads_with_every_method(tmp_path, monkeypatch, method):
    """stages/aggregate.py end to end: the unobservable labelers are excluded, the metrics name the
    single voter, and the labels are its votes."""
    units = _synthetic()
    monkeypatch.chdir(tmp_path)
    write_table("data/threads.parquet", units, ["post_id", "comment_id"])
    for name, fn in OFFLINE_LABELERS.items():
        write_table(f"data/votes/{name}.parquet", fn(units, LabelConfig()), ["post_id", "comment_id"])
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["aggregate"]["method"] = method
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    spec = importlib.util.spec_from_file_location("aggregate_stage", ROOT / "stages/aggregate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["stages/aggregate.py"])
    module.main()
    metrics = json.loads((tmp_path / "metrics/aggregate.json").read_text())
    assert metrics["single_voter_op_reply"] == 1 and metrics["observable_community"] == 0
    own = OFFLINE_LABELERS["op_reply"](units, LabelConfig()).label
    assert metrics["labeled"] == int(own.notna().sum()) > 0
    assert metrics["votes_op_reply_rejection_ineffective"] == int((own == 0).sum())


def test_recall_on_not_is_split_by_the_rule_and_abstentions_never_count_as_not():
    from redditess.validity import ineffective_recall, vote_evidence

    units = _synthetic(10)  # REPLIES: thanks, rejection, plan, neutral, rejection, same, agree, rejection, question, thanks
    votes = {"op_reply": OFFLINE_LABELERS["op_reply"](units, LabelConfig())}
    ens, _ = aggregate(votes_matrix(list(votes.values())), AggregateConfig(precedence=["op_reply"]))
    # the truth: c001, c003, c004, c008 ineffective (a rejection, the neutral "ok", a rejection, the question)
    truth = pd.DataFrame({"comment_id": units.comment_id, "effective": [1, 0, 1, 0, 0, 1, 1, 1, 0, 1]})
    m = ineffective_recall(ens, truth, votes)
    assert m["truth_not_comments"] == 4
    assert m["truth_not_recall_op_reply"] == m["truth_not_recall_op_reply_rejection"] == 0.5
    assert m["truth_not_abstained_op_reply"] == 0.5 and m["truth_not_voted_effective_op_reply"] == 0.0
    assert m["truth_not_recall_label"] == 0.5
    counts = vote_evidence(votes)
    assert counts == {"votes_op_reply_agreement_effective": 1, "votes_op_reply_commiseration_effective": 1,
                      "votes_op_reply_gratitude_effective": 3,  # "I'll try that tonight, thanks": thanks first
                      "votes_op_reply_rejection_ineffective": 3}
