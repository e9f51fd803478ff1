"""The pipeline through real `dvc` in scratch git repositories: a tiny end-to-end run of every
stage, a no-op second run, a directory remote round trip, determinism, and one-line errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from redditess.io import iter_raw

from conftest import ROOT, TINY, copy_pipeline, output_text, run_stage, stage_env, write_params

pytestmark = pytest.mark.slow


def sh(repo: Path, *cmd: str) -> str:
    proc = subprocess.run(cmd, cwd=repo, env=stage_env(repo), capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc.stdout


def init_repo(path: Path, overlay: dict | None) -> Path:
    copy_pipeline(path)
    if overlay is not None:
        write_params(path, overlay)
    sh(path, "git", "init", "-q")
    sh(path, "git", "config", "user.email", "test@localhost")
    sh(path, "git", "config", "user.name", "test")
    sh(path, "dvc", "init", "-q")
    # The claims files (the Docker entry point's last step reads the profile's) and the repository's
    # chart templates and offline page (its [plots] config); its remote stays out.
    shutil.copytree(ROOT / "artifact", path / "artifact", dirs_exist_ok=True)
    shutil.copytree(ROOT / ".dvc/plots", path / ".dvc/plots")
    shutil.copy2(ROOT / ".dvc/plots_offline.html", path / ".dvc/plots_offline.html")
    sh(path, "dvc", "config", "plots.html_template", "plots_offline.html")
    sh(path, "git", "add", "-A")
    sh(path, "git", "commit", "-qm", "pipeline")
    return path


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> Path:
    """The tiny pipeline with two replicates of the model stages (``seeds: [0, 1]``)."""
    repo = init_repo(tmp_path_factory.mktemp("tiny") / "repo", {**TINY, "seeds": [0, 1]})
    sh(repo, "dvc", "repro")
    return repo


def lock_outs(lock_text: str) -> dict[str, str]:
    lock = yaml.safe_load(lock_text)
    return {o["path"]: o["md5"] for s in lock["stages"].values() for o in s.get("outs", [])}


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_every_stage_ran_and_metrics_show_the_models(tiny_repo):
    shown = json.loads(sh(tiny_repo, "dvc", "metrics", "show", "--json"))
    files = next(iter(shown.values()))["data"]
    names = {Path(p).relative_to("metrics").with_suffix("").as_posix() for p in files}
    assert {"classifier", "agreement", "evaluate/judges", "evaluate/crisis", "evaluate/arms/sft", "evaluate/arms/best_of_16",
            "evaluate/comparisons/dpo_minus_sft"} <= names
    assert {f"{stage}/{r}" for stage in ("sft", "reward_model", "ppo", "dpo", "generate", "best_of_n") for r in (0, 1)} <= names
    sft = _json(tiny_repo / "metrics/evaluate/arms/sft.json")
    for key in ("gold_rate", "gold_rate_ci_low", "judge_rate", "judge2_rate", "truncated_share", "kl_to_sft"):
        assert isinstance(sft[key], float), key
    assert sft["provenance"]["profile"] == "default" and sft["provenance"]["source"] == "demo"
    assert (tiny_repo / "models/ppo/0/model.safetensors").exists() and (tiny_repo / "models/ppo/1/model.safetensors").exists()
    assert "objective_kl" in (tiny_repo / "plots/ppo/0.csv").read_text().splitlines()[0]
    assert (tiny_repo / "plots/best_of_n_curve/0.csv").read_text().splitlines()[0] == "arm,step,kl,proxy_reward,gold_score,gold_rate"
    assert "tokens_per_second_ppo" in json.loads((tiny_repo / "reports/generate_speed/0.json").read_text())
    assert not any("per_second" in key for p in (tiny_repo / "metrics").rglob("*.json") for key in json.loads(p.read_text()))
    assert sh(tiny_repo, "dvc", "plots", "show", "--json")
    # the evaluation is a table a person reads: one row per arm, a few dozen columns
    for folder in ("arms", "comparisons", "crisis_arms"):  # one row per arm (comparison), at most a few dozen columns
        table = sh(tiny_repo, "dvc", "metrics", "show", "--md", f"metrics/evaluate/{folder}")
        rows = [r for r in table.splitlines() if r.startswith("| metrics")]
        assert len(rows) == len(list((tiny_repo / f"metrics/evaluate/{folder}").glob("*.json"))), folder
        assert max(r.count("|") - 1 for r in rows) <= 64, folder


def test_claims_check_runs_on_the_pipelines_own_output(tiny_repo):
    """The Docker entry point's last step, on real pipeline output: every claim is measured (none
    missing), and the exit code says whether all reproduced."""
    from redditess.claims import check, load_claims, load_scope

    claims = load_claims(ROOT / "artifact/claims/demo.yaml")
    results = check(claims, tiny_repo / "metrics", load_scope(ROOT / "artifact/claims/demo.yaml"))
    crisis = _json(tiny_repo / "metrics/evaluate/crisis.json")
    # A crisis claim has nothing to measure when the tiny run holds no crisis post.
    excused = {r.claim.id for r in results if "crisis" in r.claim.metric and crisis["posts"] == 0}
    # judge-vs-gold AUC on the generations is undefined when the tiny policies' answers are all one gold class
    judges = _json(tiny_repo / "metrics/evaluate/judges.json")
    excused |= {r.claim.id for r in results if "judge_gold_generations" in r.claim.metric and judges.get("judge_gold_generations_roc_auc") is None}
    assert [r.claim.id for r in results if r.status == "missing" and r.claim.id not in excused] == []
    proc = subprocess.run(["redditess", "claims", "--output", "reports/claims.md"], cwd=tiny_repo, env=stage_env(tiny_repo),
                          capture_output=True, text=True)
    assert all(f"| {c.id} |" in proc.stdout for c in claims), proc.stdout + proc.stderr
    all_ok = all(r.status == "reproduced" for r in results)
    assert proc.returncode == (0 if all_ok else 1)
    assert f"{sum(r.status == 'reproduced' for r in results)} of {len(claims)} claims reproduced." in proc.stdout


def test_evaluate_reports_every_arm_pair_and_the_diagnostics(tiny_repo):
    from redditess.arms import arms, pairs

    n = [4, 16]
    for arm in arms(n):
        figs = _json(tiny_repo / f"metrics/evaluate/arms/{arm}.json")
        for key in ("truncated_share", "mode_sentence_share", "on_topic_share", "repetition_rate", "gold_rate", "judge_rate"):
            assert 0 <= figs[key] <= 1, (arm, key)
        assert figs["gold_rate_ci_low"] <= figs["gold_rate"] <= figs["gold_rate_ci_high"], arm
    for a, b in pairs(n):
        d = _json(tiny_repo / f"metrics/evaluate/comparisons/{a}_minus_{b}.json")
        for v in ("gold", "judge", "judge2"):
            for key in (f"{v}_difference_ci_low", f"{v}_difference_usable", f"{v}_difference_length_controlled", f"{v}_win_rate"):
                assert isinstance(d[key], float), (a, b, key)
    assert "healthy" in _json(tiny_repo / "metrics/evaluate/arms/ppo.json")
    judges = _json(tiny_repo / "metrics/evaluate/judges.json")
    assert {"judge_roc_auc", "judge_balanced_accuracy", "judge_false_positive_rate", "judge_usable", "judge_truth_roc_auc",
            "judge2_truth_balanced_accuracy", "judge2_usable",
            "baseline_words_balanced_accuracy", "baseline_words_false_positive_rate_at_judge_tpr"} <= set(judges)
    # judge vs gold on the generations: reported where the tiny policies' answers hold both gold classes
    gens_gold = [_json(tiny_repo / f"metrics/evaluate/arms/{arm}.json")["gold_rate"] for arm in arms(n)]
    if any(g > 0 for g in gens_gold) and any(g < 1 for g in gens_gold):
        assert judges.get("judge_gold_generations_roc_auc") is not None
    report = (tiny_repo / "reports/evaluate.md").read_text()
    assert "## Comparisons by the gold" in report and "## The judges" in report
    # the trivial policies answer every post with one text
    gens = pd.read_parquet(tiny_repo / "data/generations/seed_0.parquet")
    assert gens[gens.model == "stock"].response.nunique() == 1 and gens[gens.model == "longest"].response.nunique() == 1


def test_judge_and_reward_model_train_on_disjoint_posts(tiny_repo):
    judge = set(pd.read_parquet(tiny_repo / "data/split/judge_train.parquet").post_id)
    policy = set(pd.read_parquet(tiny_repo / "data/split/train.parquet").post_id)
    pairs = set(pd.read_parquet(tiny_repo / "data/split/pairs_train.parquet").post_id)
    second = set(pd.read_parquet(tiny_repo / "data/split/second_judge_train.parquet").post_id)
    assert judge and policy and not judge & policy and pairs <= policy
    assert second and not second & judge and not second & policy
    split = json.loads((tiny_repo / "metrics/split.json").read_text())
    assert split["second_judge_train_posts"] == len(second)


def test_the_crisis_lane_is_judged_on_every_crisis_post_no_model_trained_on(tiny_repo):
    split = tiny_repo / "data/split"
    crisis = pd.read_parquet(split / "crisis.parquet")
    trained = set().union(*(set(pd.read_parquet(split / f"{n}.parquet").post_id) for n in ("train", "judge_train", "second_judge_train")))
    assert crisis.crisis.all() and not set(crisis.post_id) & trained
    flagged = json.loads((tiny_repo / "metrics/split.json").read_text())
    assert flagged["crisis_eval_posts"] == crisis.post_id.nunique() == flagged["crisis_posts"]  # exclusion is on
    replicates = sorted((tiny_repo / "data/generations").glob("seed_*.parquet"))
    assert replicates
    for replicate in replicates:
        answered = pd.read_parquet(replicate)
        assert set(crisis.post_id) <= set(answered[answered.model == "sft"].post_id), replicate.name
    assert _json(tiny_repo / "metrics/evaluate/crisis.json")["posts"] == crisis.post_id.nunique()


def test_second_repro_runs_nothing(tiny_repo):
    out = sh(tiny_repo, "dvc", "repro")
    assert "Running stage" not in out
    assert "Data and pipelines are up to date" in sh(tiny_repo, "dvc", "status")


def test_push_pull_round_trip_through_a_directory_remote(tiny_repo, tmp_path):
    sh(tiny_repo, "dvc", "remote", "add", "-f", "-d", "scratch", str(tmp_path / "remote"))
    sh(tiny_repo, "dvc", "push", "-q")
    for out in ("data", "models", ".dvc/cache"):  # metrics/, plots/, reports/ are cache: false, in git
        shutil.rmtree(tiny_repo / out)
    sh(tiny_repo, "dvc", "pull", "-q")
    assert "Data and pipelines are up to date" in sh(tiny_repo, "dvc", "status")
    assert "Running stage" not in sh(tiny_repo, "dvc", "repro")


def test_an_experiment_re_runs_only_the_stages_its_change_reaches(tiny_repo):
    out = sh(tiny_repo, "dvc", "exp", "run", "-S", "agreement.bootstrap=30")
    assert "Running stage 'agreement'" in out
    assert "Running stage 'classifier'" not in out and "Running stage 'collect'" not in out
    assert '"bootstrap": 30' in sh(tiny_repo, "dvc", "exp", "show", "--no-pager", "--json")


def test_model_stages_are_deterministic_on_one_machine(tiny_repo):
    before = lock_outs((tiny_repo / "dvc.lock").read_text())
    sh(tiny_repo, "dvc", "repro", "-f", "-s", "sft@1")
    sh(tiny_repo, "dvc", "repro", "-f", "-s", "ppo@1")
    after = lock_outs((tiny_repo / "dvc.lock").read_text())
    assert after["models/sft/1"] == before["models/sft/1"]
    assert after["models/ppo/1"] == before["models/ppo/1"]


def test_two_replicates_train_different_models_and_evaluate_reports_their_mean_and_sd(tiny_repo):
    from redditess.replicates import mean_sd

    outs = lock_outs((tiny_repo / "dvc.lock").read_text())
    for stage in ("base", "sft", "reward_model", "ppo", "dpo"):
        assert outs[f"models/{stage}/0"] != outs[f"models/{stage}/1"], stage  # each replicate its own seed
    gens = [pd.read_parquet(tiny_repo / f"data/generations/seed_{r}.parquet") for r in (0, 1)]
    assert gens[0][["post_id", "model"]].equals(gens[1][["post_id", "model"]])  # the same posts and arms ...
    assert (gens[0].response != gens[1].response).mean() > 0.5  # ... answered differently
    sft = _json(tiny_repo / "metrics/evaluate/arms/sft.json")
    seeds = _json(tiny_repo / "reports/evaluate_replicates.json")
    assert seeds["replicates"] == [0, 1]
    for key in ("gold_rate", "judge_rate", "words", "truncated_share", "kl_to_sft"):
        mean, sd = mean_sd(seeds["arms"]["sft"][key])
        assert sft[key] == pytest.approx(mean) and sft[f"{key}_sd"] == pytest.approx(sd), key
    d = _json(tiny_repo / "metrics/evaluate/comparisons/ppo_minus_sft.json")
    assert d["gold_difference"] == pytest.approx(mean_sd(seeds["comparisons"]["ppo_minus_sft"]["gold_difference"])[0])
    assert sft["gold_rate_ci_low"] <= sft["gold_rate"] <= sft["gold_rate_ci_high"]
    report = (tiny_repo / "reports/evaluate.md").read_text()
    assert "2 replicate(s)" in report and f"{sft['gold_rate']:.3f} ± {sft['gold_rate_sd']:.3f}" in report


def test_data_stages_reproduce_the_committed_lock_byte_for_byte(tmp_path):
    committed = lock_outs((ROOT / "dvc.lock").read_text())
    repo = init_repo(tmp_path / "fresh", None)
    sh(repo, "dvc", "repro", "split")
    rebuilt = lock_outs((repo / "dvc.lock").read_text())
    data_outs = [p for p in rebuilt if p.startswith("data/")]
    assert len(data_outs) >= 7
    assert {p: rebuilt[p] for p in data_outs} == {p: committed[p] for p in data_outs}


def test_unknown_params_key_stops_a_stage_with_its_name(tmp_path):
    repo = copy_pipeline(tmp_path / "r")
    write_params(repo, {"collect": {"demo": {"n_thread": 5}}})
    proc = run_stage(repo, "collect", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: params.yaml: unknown key 'collect.demo.n_thread'"]


def test_missing_praw_credentials_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    monkeypatch.delenv("REDDIT_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("REDDITESS_SALT", "test-salt-0123456789")
    repo = copy_pipeline(tmp_path / "r")
    write_params(repo, {"collect": {"source": "praw"}})
    proc = run_stage(repo, "collect", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: collect.source=praw needs Reddit API credentials: set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"]


def test_malformed_dump_line_is_reported_by_collect(tmp_path, monkeypatch):
    monkeypatch.setenv("REDDITESS_SALT", "test-salt-0123456789")
    repo = copy_pipeline(tmp_path / "r")
    (repo / "dumps").mkdir(exist_ok=True)
    (repo / "dumps/RC_x.ndjson").write_text('{"id": "c1", "link_id": "t3_p", "parent_id": "t3_p", "body": "x"}\nnot json\n')
    write_params(repo, {"collect": {"source": "dump", "dump": {"paths": ["dumps/RC_*.ndjson"]}}})
    proc = run_stage(repo, "collect")
    assert "dumps/RC_x.ndjson:2: malformed record" in proc.stderr
    report = json.loads((repo / "data/raw/report.json").read_text())
    assert report["counts"]["lines_malformed"] == 1 and report["counts"]["comments"] == 1
    digest = hashlib.sha256((repo / "dumps/RC_x.ndjson").read_bytes()).hexdigest()[:16]  # data/raw names no file
    assert report["malformed_examples"] == [f"sha256:{digest}:2: malformed record: invalid literal, expected 'null': line 1 column 1 (char 0)"]
    write_params(repo, {"collect": {"source": "dump", "strict": True, "dump": {"paths": ["dumps/RC_*.ndjson"]}}})
    proc = run_stage(repo, "collect", check=False)
    assert proc.returncode == 2 and "dumps/RC_x.ndjson:2: malformed record" in proc.stderr


def test_takedown_removes_a_thread_from_every_output(tmp_path):
    repo = init_repo(tmp_path / "td", {"collect": {"demo": {"n_threads": 60}}, "agreement": {"bootstrap": 20}})
    sh(repo, "dvc", "repro", "datacard", "split")
    units = pd.read_parquet(repo / "data/threads.parquet")
    post = units.post_id.iloc[0]
    comments = [c["id"] for c in iter_raw(repo / "data/raw/RC.parquet") if c["link_id"] == f"t3_{post}"]
    needles = [f'"{post}"', f"t3_{post}"] + [f'"{c}"' for c in comments] + [f"t1_{c}" for c in comments]
    assert f'"{post}"' in output_text(repo) and len(comments) >= 2
    (repo / "takedown.txt").write_text(f"t3_{post}  # requested by the author\n")
    out = sh(repo, "dvc", "repro", "datacard", "split")
    assert "Running stage 'collect'" in out
    text = output_text(repo)
    assert [n for n in needles if n in text] == []
    report = json.loads((repo / "data/raw/report.json").read_text())
    assert report["counts"]["takedown_submissions"] == 1 and report["counts"]["takedown_comments"] == len(comments)


def test_two_llm_judges_label_everything_once_then_only_what_the_ledger_lacks(tmp_path, monkeypatch):
    from fake_openai import FakeOpenAI

    monkeypatch.setenv("FAKE_JUDGE_KEY", "sk-test")
    with FakeOpenAI(seed=3) as server:
        judge = {"model": "fake-judge", "base_url": server.url, "api_key_env": "FAKE_JUDGE_KEY", "timeout_seconds": 5.0,
                 "backoff_seconds": 0.01, "concurrency": 4}
        repo = init_repo(tmp_path / "judges", {"collect": {"demo": {"n_threads": 40}}, "agreement": {"bootstrap": 20},
                                               "label": {"judges": [{"name": "alpha", **judge}, {"name": "beta", **judge}]}})
        out = sh(repo, "dvc", "repro", "agreement")
        assert "Running stage 'judge@0'" in out and "Running stage 'judge@1'" in out
        first = server.requests
        ledgers = {n: (repo / f"ledgers/{n}.jsonl").read_text().splitlines() for n in ("alpha", "beta")}
        assert first == len(ledgers["alpha"]) + len(ledgers["beta"]) > 0
        ens = pd.read_parquet(repo / "data/labels/ensemble.parquet")
        assert ens.vote_llm_alpha.notna().all() and ens.vote_llm_beta.notna().all()
        assert "llm_alpha" in (repo / "reports/agreement.md").read_text()

        assert "Running stage" not in sh(repo, "dvc", "repro", "agreement")
        assert server.requests == first  # zero requests

        (repo / "ledgers/alpha.jsonl").write_text("\n".join(ledgers["alpha"][1:]) + "\n")
        out = sh(repo, "dvc", "repro", "agreement")
        assert "Running stage 'judge@0'" in out and "Running stage 'judge@1'" not in out
        assert server.requests == first + 1  # exactly the forgotten request
        def answers(lines):
            return [(e["key"], e["answer"]) for e in map(json.loads, lines)]

        assert answers((repo / "ledgers/alpha.jsonl").read_text().splitlines()) == answers(ledgers["alpha"])
