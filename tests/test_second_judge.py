"""The second evaluation judge (redditess.second_judge, stage second_judge): trained on the demo's true
labels, or an LLM through the real openai client against a loopback server; its judge2_ verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from redditess.config import JudgeConfig
from redditess.second_judge import LlmJudge, attach_truth

from conftest import ROOT, run_stage, stage_env
from fake_openai import FakeOpenAI


def _scored(abstain_sft_effective=False):
    """40 posts, one replicate: the second judge calls base effective on a quarter of the posts, sft on
    half, dpo on nine in ten; every other dpo answer stops mid-sentence."""
    from redditess.evaluate import add_diagnostics, score_responses

    rows, probs = [], {}
    for i in range(40):
        for model, p in (("base", 0.25), ("sft", 0.5), ("dpo", 0.9)):
            text = f"About word{i:03d} {model} it sounds hard" + ("" if model == "dpo" and not i % 2 else ".")
            rows.append(dict(replicate=0, post_id=f"p{i:03d}", model=model, response=text, kl_to_sft=0.0))
            eff = (i % 20) / 20 < p
            probs[text] = np.nan if (abstain_sft_effective and model == "sft" and eff) else (0.9 if eff else 0.1)
    gens = pd.DataFrame(rows)
    scored = score_responses(gens, PROMPTS, {"judge2": lambda _p, rs: [probs[r] for r in rs]}, 0.5)
    return add_diagnostics(scored, PROMPTS, 0.0)


PROMPTS = pd.Series({f"p{i:03d}": f"Post about word{i:03d}" for i in range(40)})


def test_the_second_judges_verdict_is_scored_like_every_verdict():
    from redditess.evaluate import arm_metrics, comparison_metrics

    scored = _scored()
    arms, seeds, _ = arm_metrics(scored, ["base", "sft", "dpo"], 200, np.random.default_rng(0))
    assert arms["base"]["judge2_rate"] == pytest.approx(0.25) and arms["dpo"]["judge2_rate"] == pytest.approx(0.9)
    assert seeds["sft"]["judge2_rate"] == [pytest.approx(0.5)]
    assert arms["dpo"]["judge2_rate_usable"] == pytest.approx(0.45)  # every other dpo answer is cut off
    assert arms["sft"]["judge2_rate_ci_low"] < 0.5 < arms["sft"]["judge2_rate_ci_high"]
    pairs, _ = comparison_metrics(scored, [("dpo", "sft"), ("dpo", "base")], 200, np.random.default_rng(0))
    d = pairs["dpo_minus_sft"]
    assert d["judge2_difference"] == pytest.approx(0.4) and pairs["dpo_minus_base"]["judge2_difference"] == pytest.approx(0.65)
    assert d["judge2_difference_ci_low"] > 0 and d["judge2_difference_usable"] == pytest.approx(-0.05)
    assert d["judge2_win_rate"] == pytest.approx(0.4 + 0.6 * 0.5)  # ties count a half
    assert "judge2_difference_length_controlled_ci_high" in d


def test_an_abstention_counts_as_not_effective_and_is_counted():
    from redditess.evaluate import arm_metrics

    arms, _, _ = arm_metrics(_scored(abstain_sft_effective=True), ["sft"], 50, np.random.default_rng(0))
    assert arms["sft"]["judge2_rate"] == 0.0 and arms["sft"]["judge2_abstained"] == 20


def test_null_truth_is_dropped_and_counted():
    rows = pd.DataFrame({"comment_id": ["a", "b", "c"], "post_id": "p"})
    kept, dropped = attach_truth(rows, pd.DataFrame({"comment_id": ["a", "c"], "effective": [1, 0]}))
    assert kept.comment_id.tolist() == ["a", "c"] and kept.truth_label.tolist() == [1, 0] and dropped == 1


def _llm_cfg(url, **kw):
    return JudgeConfig(**{**dict(name="second", model="fake-judge", base_url=url, api_key_env="FAKE_JUDGE_KEY",
                                 prompt=str(ROOT / "prompts/second_judge_effective_v1.md"), concurrency=4, max_retries=4,
                                 backoff_seconds=0.01, timeout_seconds=2.0), **kw})


def test_llm_judge_scores_through_the_ledgered_client(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_JUDGE_KEY", "sk-test")
    ledger = tmp_path / "second_judge.jsonl"
    prompts = ["My dog died\nI can't stop crying.", "Exams\nI panic before every exam."] * 3
    responses = ["I'm so sorry, losing a dog is losing family. It is okay to cry.", "Just get over it.",
                 "ok", "Try this: breathe in for four counts before you start. It helped me.",
                 "You're not alone, I went through the same thing after mine died.", "nobody cares lol"]
    with FakeOpenAI(seed=2, p429=0.2, p500=0.1) as server:
        judge = LlmJudge(_llm_cfg(server.url), ledger, seed=0)
        prob = judge.score(prompts, responses)
        assert prob.tolist() == [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]  # the fake calls dismissive or one-word replies ineffective
        assert server.faults["429"] + server.faults["500"] > 0 and judge.stats.counts["answered"] == 6
        assert judge.stats.estimate["cost"] >= 0 and judge.stats.prompt_tokens > 0
        sent = server.requests
        # its own prompt, not the labelling one: the post and the response are in it
        body = json.loads(ledger.read_text().splitlines()[0])
        assert body["status"] == "answered"
        again = LlmJudge(_llm_cfg(server.url), ledger, seed=0)
        assert again.score(prompts, responses).tolist() == prob.tolist()
        assert server.requests == sent and again.stats.counts["cached"] == 6  # the ledger answers a re-run
        # a post taken down: its requests leave the ledger with it
        LlmJudge(_llm_cfg(server.url), ledger, seed=0).score(prompts[1:], responses[1:])
        assert server.requests == sent and len(ledger.read_text().splitlines()) == 5


# --------------------------------------------------------------------------- the stage
@pytest.fixture
def repo(tiny_data_repo, tmp_path):
    dest = tmp_path / "repo"
    shutil.copytree(tiny_data_repo, dest, symlinks=True)
    return dest


def _set(repo, section: dict) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["second_judge"] = {**params["second_judge"], **section}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.slow
def test_stage_trains_on_true_labels_and_reports_both_discriminations(repo):
    split = json.loads((repo / "metrics/split.json").read_text())
    assert split["second_judge_train_posts"] > 0
    run_stage(repo, "second_judge")
    m = json.loads((repo / "metrics/second_judge.json").read_text())
    assert m["enabled"] == 1 and m["train_posts"] == split["second_judge_train_posts"]
    # TINY caps training examples at 48; every comment is either trained on or dropped for want of a truth
    assert m["train_comments"] == min(48, split["second_judge_train_comments"] - m["train_dropped_no_truth"])
    for basis in ("judge", "truth"):
        for key in ("roc_auc", "balanced_accuracy", "false_positive_rate"):
            assert 0 <= m[f"{basis}_{key}"] <= 1, (basis, key)
    assert m["judge_test_comments"] == split["test_comments"]
    assert json.loads((repo / "models/second_judge/second_judge.json").read_text()) == {"kind": "truth"}
    assert (repo / "models/second_judge/head.npz").exists() and (repo / "ledgers/second_judge.jsonl").exists()

    # A source without a truth (a real dump): one line naming the param, no output taken as done.
    shutil.rmtree(repo / "models/second_judge")
    (repo / "data/raw/truth.parquet").unlink()  # a real source writes no truth
    proc = run_stage(repo, "second_judge", check=False)
    assert proc.returncode == 2 and not (repo / "models/second_judge").exists()
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: second_judge: second_judge.kind is truth") and "none" in line

    _set(repo, {"kind": "none"})
    run_stage(repo, "second_judge")
    assert json.loads((repo / "models/second_judge/second_judge.json").read_text()) == {"kind": "none"}
    disabled = json.loads((repo / "metrics/second_judge.json").read_text())
    assert disabled.pop("provenance")["profile"] == "default" and disabled == {"enabled": 0}


@pytest.mark.slow
def test_stage_asks_the_llm_judge_once_then_reads_its_ledger(repo):
    with FakeOpenAI(seed=3, p429=0.05) as server:
        _set(repo, {"kind": "llm", "llm": {"name": "second", "model": "fake-judge", "base_url": server.url,
                                           "api_key_env": "FAKE_JUDGE_KEY", "prompt": "prompts/second_judge_effective_v1.md",
                                           "backoff_seconds": 0.01, "concurrency": 4}})
        env = dict(stage_env(repo), FAKE_JUDGE_KEY="sk-test")
        cmd = [sys.executable, "stages/second_judge.py"]
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        m = json.loads((repo / "metrics/second_judge.json").read_text())
        n = m["judge_test_comments"] + m["abstained"]
        assert m["requests_sent"] >= n > 0 and m["from_ledger"] == 0 and 0 <= m["judge_balanced_accuracy"] <= 1
        assert "truth_roc_auc" in m  # the demo source has true labels: the LLM judge is checked on them too
        assert len((repo / "ledgers/second_judge.jsonl").read_text().splitlines()) == n
        spec = json.loads((repo / "models/second_judge/second_judge.json").read_text())
        assert spec["kind"] == "llm" and spec["model"] == "fake-judge" and len(spec["prompt_sha256"]) == 64
        sent = server.requests
        proc = subprocess.run(cmd, cwd=repo, env={k: v for k, v in env.items() if k != "FAKE_JUDGE_KEY"},
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert server.requests == sent and json.loads((repo / "metrics/second_judge.json").read_text())["from_ledger"] == n


def test_evaluate_hook_judges_the_arms_with_the_llm_and_keeps_its_own_ledger(tmp_path, monkeypatch):
    """load_second_judge, as evaluate calls it: the spec the stage left decides (a stale one stops in
    one line), the LLM answers through the real openai client into its own ledger, and the second
    replicate's identical requests come from that ledger."""
    import dataclasses

    from redditess.config import Params, SecondJudgeConfig
    from redditess.runtime import InputError
    from redditess.second_judge import load_second_judge

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAKE_JUDGE_KEY", "sk-test")
    model_dir, ledger = tmp_path / "models/second_judge", tmp_path / "ledgers/second_judge_generations.jsonl"
    model_dir.mkdir(parents=True)
    prompts = [f"Post {i}\nI feel low." for i in range(8)]
    responses = [f"I'm sorry you feel low, that sounds exhausting {'so ' * (i % 3)}." for i in range(8)]
    with FakeOpenAI(seed=4) as server:
        params = dataclasses.replace(Params(), second_judge=SecondJudgeConfig(kind="llm", llm=_llm_cfg(server.url)))
        (model_dir / "second_judge.json").write_text(json.dumps({"kind": "truth"}))
        with pytest.raises(InputError, match="holds a 'truth' judge but second_judge.kind is 'llm'"):
            load_second_judge(params, 0, model_dir, ledger)
        (model_dir / "second_judge.json").write_text(json.dumps({"kind": "llm"}))
        first = load_second_judge(params, 0, model_dir, ledger).score(prompts, responses)
        again = load_second_judge(params, 0, model_dir, ledger).score(prompts, responses)
        assert server.requests == len(prompts)  # the second call's identical requests come from the ledger
    assert np.array_equal(first, again, equal_nan=True) and set(np.unique(first[~np.isnan(first)])) <= {0.0, 1.0}
    assert len(ledger.read_text().splitlines()) == len(prompts)
    none = dataclasses.replace(Params(), second_judge=SecondJudgeConfig(kind="none"))
    (model_dir / "second_judge.json").write_text(json.dumps({"kind": "none"}))
    assert load_second_judge(none, 0, model_dir, ledger) is None