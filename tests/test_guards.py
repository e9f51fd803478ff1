"""Degenerate data: each stage that receives zero rows or a single class stops with one line naming
the upstream cause, and writes no output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from redditess.aggregate import aggregate, summary, votes_matrix
from redditess.config import AggregateConfig, FilterConfig
from redditess.guards import require_threads
from redditess.io import write_table
from redditess.runtime import InputError
from redditess.threads import SURVEY, build_units

from conftest import copy_pipeline, run_stage, write_params


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and proc.stderr.rstrip().endswith(errors[0])
    return errors[0]


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("REDDITESS_SALT", "guard-test-salt-0123456789")
    return copy_pipeline(tmp_path / "repo")


def _raw(repo, submissions, comments, source="dump"):
    raw = repo / "data/raw"
    raw.mkdir(parents=True)
    from redditess.io import RawWriter

    for name, rows in (("RS.parquet", submissions), ("RC.parquet", comments)):
        with RawWriter(raw / name) as out:
            for r in rows:
                out.write(r)
    from redditess.privacy import salt_fingerprint

    (raw / "report.json").write_text(json.dumps({"source": source, "salt_fingerprint": salt_fingerprint("guard-test-salt-0123456789")}))


def _post(pid, **kw):
    return {"id": pid, "author": "op", "title": "Feeling low", "selftext": "I can't sleep.", "subreddit": "depression",
            "created_utc": 1, **kw}


def _comment(cid, parent, author, body, pid):
    return {"id": cid, "link_id": f"t3_{pid}", "parent_id": parent, "author": author, "body": body, "created_utc": 2}


def _thread(pid):
    return [_comment(f"{pid}a", f"t3_{pid}", "helper", "I'm sorry, that sounds hard.", pid),
            _comment(f"{pid}b", f"t1_{pid}a", "op", "thank you", pid)]


def test_require_edited_post_on_a_source_without_edit_information_stops(repo):
    _raw(repo, [_post("p1"), _post("p2")], _thread("p1") + _thread("p2"))
    line = _one_error_line(run_stage(repo, "threads", check=False))
    assert "require_edited_post is true but none of the 2 submissions" in line and "set it to false" in line
    assert not (repo / "data/threads.parquet").exists()


def test_threads_keeping_nothing_names_the_filter_that_removed_most(repo):
    posts = [_post("p1", edited=False), _post("p2", edited=False),
             _post("p3", edited=5, title="Participants needed for a survey")]
    _raw(repo, posts, _thread("p1") + _thread("p2") + _thread("p3"))
    line = _one_error_line(run_stage(repo, "threads", check=False))
    assert line == ("error: threads: 0 posts kept from 9 records; filter 'not_edited' "
                    "(threads.filters.require_edited_post) removed 2 of the 3 posts dropped")
    assert not (repo / "data/threads.parquet").exists()


def test_threads_on_empty_raw_data_names_collect():
    with pytest.raises(InputError, match="data/raw holds no records"):
        require_threads(0, 0, {"records_in": 0})


def test_label_on_zero_units_names_threads(repo):
    write_table(repo / "data/threads.parquet", pd.DataFrame({"post_id": [], "comment_id": [], "op_replies": []}),
                ["post_id", "comment_id"])
    line = _one_error_line(run_stage(repo, "label", "op_reply", check=False))
    assert line == ("error: label@op_reply: data/threads.parquet holds 0 units "
                    "(the threads stage kept none; see reports/threads.md)")
    assert not (repo / "data/votes/op_reply.parquet").exists()


def _units_and_votes(repo, votes: dict[str, list], scores=None, replies=None):
    n = len(next(iter(votes.values())))
    units = pd.DataFrame({"post_id": [f"p{i}" for i in range(n)], "comment_id": [f"c{i}" for i in range(n)],
                          "comment_score": pd.array(scores or [None] * n, dtype="Int64"),
                          "post_edit": [""] * n, "general_feedback": [[] for _ in range(n)],
                          "op_replies": replies or [["thanks"]] * n})
    write_table(repo / "data/threads.parquet", units, ["post_id", "comment_id"])
    for name, labels in votes.items():
        frame = pd.DataFrame({"post_id": units.post_id, "comment_id": units.comment_id, "labeler": name,
                              "label": pd.array(labels, dtype="Int8"), "score": 0.0})
        write_table(repo / f"data/votes/{name}.parquet", frame, ["post_id", "comment_id"])


def test_aggregate_on_empty_votes_names_threads_not_the_label_stages(repo):
    _units_and_votes(repo, {"op_reply": [], "community": []})
    line = _one_error_line(run_stage(repo, "aggregate", check=False))
    assert line == ("error: aggregate: the 2 vote files under data/votes/ hold 0 rows: "
                    "data/threads.parquet has no units (see reports/threads.md)")
    assert not (repo / "data/labels/ensemble.parquet").exists()


def test_aggregate_when_every_labeler_abstains_names_them(repo):
    _units_and_votes(repo, {"op_reply": [None] * 3, "community": [None] * 3}, scores=[1, 5, -2])
    write_params(repo, {"aggregate": {"precedence": ["op_reply", "community"]}})
    line = _one_error_line(run_stage(repo, "aggregate", check=False))
    assert line == ("error: aggregate: every labeler abstained on all 3 comments "
                    "(community 100%, op_reply 100% abstained); no comment can be labeled")
    assert not (repo / "data/labels/ensemble.parquet").exists()


def test_unobservable_labelers_are_excluded_and_a_lone_voter_gets_no_reliability(repo):
    # no scores and no edits (a dyadic real-data shape): only op_reply can vote
    _units_and_votes(repo, {"op_reply": [1, 0, 1, None], "community": [None] * 4, "general_feedback": [None] * 4})
    run_stage(repo, "aggregate")
    metrics = json.loads((repo / "metrics/aggregate.json").read_text())
    assert metrics["observable_community"] == 0 and metrics["observable_general_feedback"] == 0
    assert metrics["observable_op_reply"] == 1 and metrics["abstain_share_op_reply"] == 0.25
    assert not any(k.startswith(("sensitivity_", "specificity_")) for k in metrics)
    assert "abstain_share_community" not in metrics
    ens = pd.read_parquet(repo / "data/labels/ensemble.parquet")
    assert "vote_community" not in ens.columns and ens.label.tolist()[:3] == [1, 0, 1]


def test_reliability_needs_a_second_voter():
    wide = votes_matrix([pd.DataFrame({"post_id": "p", "comment_id": [f"c{i}" for i in range(4)], "labeler": n,
                                       "label": pd.array(v, dtype="Int8")})
                         for n, v in (("op_reply", [1, 0, 1, 1]), ("community", [1, 0, 0, None]),
                                      ("general_feedback", [None] * 4))])
    ens, reliability = aggregate(wide, AggregateConfig(), 1)
    m = summary(ens, reliability)
    assert "sensitivity_op_reply" in m and "sensitivity_community" in m
    assert "sensitivity_general_feedback" not in m and "specificity_general_feedback" not in m
    assert np.isnan(reliability["general_feedback"]["sensitivity"])


def _ensemble(repo, labels):
    n = len(labels)
    units = pd.DataFrame({"post_id": [f"p{i}" for i in range(n)], "comment_id": [f"c{i}" for i in range(n)],
                          "post_title": ["title"] * n, "post_body": ["body"] * n, "comment_body": ["words"] * n})
    ens = units[["post_id", "comment_id"]].assign(label=pd.array(labels, dtype="Int8"), golden=False)
    write_table(repo / "data/threads.parquet", units, ["post_id", "comment_id"])
    write_table(repo / "data/labels/ensemble.parquet", ens, ["post_id", "comment_id"])


def test_split_with_one_class_names_aggregate(repo):
    _ensemble(repo, [1] * 6 + [None] * 2)
    line = _one_error_line(run_stage(repo, "split", check=False))
    assert line == ("error: split: every labeled comment in data/labels/ensemble.parquet is effective (6); "
                    "training needs both classes (aggregate labeled 6 of 8 comments; see metrics/aggregate.json)")
    assert not (repo / "data/split").exists()


def test_split_with_no_labels_names_aggregate(repo):
    _ensemble(repo, [None] * 4)
    line = _one_error_line(run_stage(repo, "split", check=False))
    assert line == ("error: split: data/labels/ensemble.parquet holds no labeled comment "
                    "(aggregate labeled 0 of 4 comments; see metrics/aggregate.json)")


def _split(repo, train_labels, test_labels):
    for name, labels in (("judge_train", train_labels), ("test", test_labels)):
        n = len(labels)
        df = pd.DataFrame({"post_id": [f"{name}{i}" for i in range(n)], "comment_id": [f"{name}c{i}" for i in range(n)],
                           "post_title": "t", "post_body": "b", "comment_body": "c",
                           "label": pd.array(labels, dtype="Int8"), "golden": False})
        write_table(repo / f"data/split/{name}.parquet", df, ["post_id", "comment_id"])


@pytest.mark.parametrize("train, expect", [
    ([], "error: classifier: data/split/judge_train.parquet holds no labeled comment (see metrics/split.json)"),
    ([0, 0, 0], "error: classifier: every labeled comment in data/split/judge_train.parquet is ineffective (3); "
                "training needs both classes (see metrics/split.json)"),
])
def test_classifier_on_degenerate_training_data_stops_without_a_dtype_crash(repo, train, expect):
    _split(repo, train, [0, 1])
    assert _one_error_line(run_stage(repo, "classifier", check=False)) == expect
    assert not (repo / "models/classifier").exists()


@pytest.mark.parametrize("text, dropped", [
    ("My dissertation is due Friday and I haven't slept in three days. I feel like a failure.", False),
    ("I failed my thesis defence and my parents won't talk to me", False),
    ("For my dissertation I am looking for participants aged 18-25 who struggle with anxiety.", True),
    ("Please take 10 minutes out of your day to help me with my dissertation!", True),
    ("Could you fill in this short survey?", True),
])
def test_survey_filter_keeps_an_ordinary_post_mentioning_a_dissertation(text, dropped):
    assert bool(SURVEY.search(text)) is dropped
    post = {"id": "p1", "author": "op", "title": "hi", "selftext": text, "subreddit": "x", "edited": 5}
    units, _, att = build_units([post], _thread("p1"), FilterConfig(), set())
    assert (att.dropped["post_survey_or_recruitment"] == 1) is dropped and units.empty is dropped


def test_reward_model_without_pairs_names_the_split_param():
    from redditess.guards import require_pairs

    with pytest.raises(InputError, match=r"^reward_model: data/split/pairs_train.parquet holds 0 pairs .*"
                                         r"set split.cross_post_pairs: true\)$"):
        require_pairs(0, 5, "reward_model")
    require_pairs(3, 1, "dpo")
