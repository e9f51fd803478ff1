"""A takedown end to end, through real `dvc` with an LLM judge (a loopback server), an annotation
export, a human sheet and a directory remote: after `redditess takedown apply`, `dvc repro`,
`dvc push` and `dvc gc --workspace --cloud`, `redditess takedown verify` finds nothing; before the
purge it finds the old copies in the cache and the remote."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from test_pipeline import init_repo, sh

from conftest import stage_env

pytestmark = pytest.mark.slow


def cli(repo, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "redditess.cli", *args], cwd=repo, env=stage_env(repo),
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"redditess {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_takedown_reaches_ledgers_annotation_exports_cache_and_remote(tmp_path, monkeypatch):
    from fake_openai import FakeOpenAI

    monkeypatch.setenv("FAKE_JUDGE_KEY", "sk-test")
    with FakeOpenAI(seed=3) as server:
        judge = {"name": "alpha", "model": "fake-judge", "base_url": server.url, "api_key_env": "FAKE_JUDGE_KEY",
                 "timeout_seconds": 5.0, "backoff_seconds": 0.01, "concurrency": 4}
        repo = init_repo(tmp_path / "td", {"collect": {"demo": {"n_threads": 40}}, "agreement": {"bootstrap": 20},
                                           "label": {"judges": [judge]}})
        sh(repo, "dvc", "repro", "agreement")
        cli(repo, "annotate", "export", "--n", "40")
        sample = pd.read_csv(repo / "annotation/sample.csv", dtype=str)
        units = pd.read_parquet(repo / "data/threads.parquet")
        post = units[units.comment_id.isin(sample.comment_id)].post_id.iloc[0]
        gone_units = set(units[units.post_id == post].comment_id)
        with open(repo / "human/alice.csv", "w", newline="") as fh:  # a filled sheet naming a removed unit
            w = csv.writer(fh)
            w.writerow(["comment_id", "effective", "supportiveness", "dimensions"])
            w.writerows([[c, 1, 3, "emotional"] for c in sorted(sample.comment_id)])
        sh(repo, "dvc", "remote", "add", "-d", "store", str(tmp_path / "remote"))
        sh(repo, "dvc", "push", "-q")

        (repo / "takedown.txt").write_text(f"t3_{post}  # requested by the author\n")
        verdict = cli(repo, "takedown", "verify", check=False)
        assert verdict.returncode == 1 and "data/raw" in verdict.stdout  # not applied yet: found everywhere

        applied = cli(repo, "takedown", "apply").stdout
        assert "annotation/sample.csv" in applied and "human/alice.csv" in applied
        assert not set(pd.read_csv(repo / "annotation/sample.csv", dtype=str).comment_id) & gone_units
        assert not any(c in (repo / "annotation/form.html").read_text() for c in gone_units)
        before = len((repo / "ledgers/alpha.jsonl").read_text().splitlines())
        sh(repo, "dvc", "repro", "agreement")
        after = (repo / "ledgers/alpha.jsonl").read_text().splitlines()
        units_now = pd.read_parquet(repo / "data/threads.parquet")
        assert len(units_now) == len(units) - len(gone_units)
        pruned = json.loads((repo / "metrics/judge_alpha.json").read_text())["ledger_pruned"]
        assert 0 < pruned == before - len(after) <= len(gone_units)  # (identical requests share one entry)
        assert len(after) <= len(units_now)
        sh(repo, "dvc", "push", "-q")

        verdict = cli(repo, "takedown", "verify", check=False)
        hits = verdict.stdout.splitlines()[:-1]
        assert verdict.returncode == 1 and hits  # old versions in the cache and the remote
        assert [h for h in hits if not h.startswith((".dvc/cache/", str(tmp_path / "remote")))] == []
        assert any(h.startswith(str(tmp_path / "remote")) for h in hits)

        sh(repo, "dvc", "gc", "--workspace", "--cloud", "-f")  # the README's purge
        verdict = cli(repo, "takedown", "verify")
        assert verdict.stdout.splitlines()[-1].endswith(": 0 still hold them")
        assert "Running stage" not in sh(repo, "dvc", "repro", "agreement")
        for out in ("data", "ledgers", ".dvc/cache"):  # what remains on the remote is complete
            shutil.rmtree(repo / out)
        sh(repo, "dvc", "pull", "-q", "--with-deps", "agreement")
        assert "Running stage" not in sh(repo, "dvc", "repro", "agreement")
        assert cli(repo, "takedown", "verify").returncode == 0
