"""The real profile's pipeline folder (real/): generated from the main graph, read by the claims check."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml

from redditess.cli import main as cli
from redditess.config import ParamsError
from redditess.runtime import InputError
from redditess.subpipeline import LINKED, SHARED, folder_dvc_yaml, write_pipeline

from conftest import ROOT


def _skeleton(tmp_path):
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    (tmp_path / "real").mkdir()
    shutil.copy(ROOT / "real/folder.yaml", tmp_path / "real/folder.yaml")
    return tmp_path


def test_committed_real_pipeline_is_what_the_command_writes(tmp_path):
    root = _skeleton(tmp_path)
    write_pipeline(root / "real", root=root)
    for name in ("params.yaml", "dvc.yaml"):
        assert (root / "real" / name).read_text() == (ROOT / "real" / name).read_text(), \
            f"real/{name} is stale: run `redditess pipeline real`"
    for name in LINKED:
        assert os.readlink(ROOT / "real" / name) == f"../{name}"
        assert (ROOT / "real" / name).exists()
    # idempotent: a second run leaves the links and files as they are
    before = {p.name: p.read_bytes() for p in (root / "real").iterdir() if p.is_file() and not p.is_symlink()}
    write_pipeline(root / "real", root=root)
    assert before == {p.name: p.read_bytes() for p in (root / "real").iterdir() if p.is_file() and not p.is_symlink()}


def test_real_params_are_the_profile_on_the_shared_data():
    params = yaml.safe_load((ROOT / "real/params.yaml").read_text())
    profile = yaml.safe_load((ROOT / "profiles/real.yaml").read_text())
    assert params["profile"] == "real" and params["collect"]["source"] == profile["collect"]["source"] == "dump"
    assert params["seeds"] == [0]  # one replicate: the 30-minute budget (said so in real/folder.yaml)
    assert all(p.startswith("../../shared/data/") for p in params["collect"]["dump"]["paths"])
    main = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert params["ppo"]["total_episodes"] == profile["ppo"]["total_episodes"]
    assert params["rloo"] == main["rloo"]  # what neither the profile nor the folder sets is the main file's


def test_folder_graph_is_the_main_graph_with_shared_inputs_one_level_up():
    main = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    real = yaml.safe_load((ROOT / "real/dvc.yaml").read_text())
    assert real == folder_dvc_yaml(main, "real")
    assert list(real["stages"]) == list(main["stages"])
    # the same charts on the same files, titled with the folder (one `dvc plots show` page draws both)
    strip = [{n: {k: v for k, v in s.items() if k != "title"} for n, s in p.items()} if isinstance(p, dict) else p for p in real["plots"]]
    assert strip == [{n: {k: v for k, v in s.items() if k != "title"} for n, s in p.items()} if isinstance(p, dict) else p for p in main["plots"]]
    assert all(s["title"].startswith("real/: ") for p in real["plots"] if isinstance(p, dict) for s in p.values())
    for name, stage in real["stages"].items():
        body, orig = stage.get("do", stage), main["stages"][name].get("do", main["stages"][name])
        assert body["cmd"].replace("../stages/", "stages/") == orig["cmd"] and "../stages/" in body["cmd"]
        for dep, orig_dep in zip(body.get("deps", []), orig.get("deps", [])):
            shared = orig_dep.split("/", 1)[0] in SHARED
            assert dep == (f"../{orig_dep}" if shared else orig_dep), (name, dep)
        for key in ("outs", "metrics", "plots"):  # outputs stay inside the folder
            for out in body.get(key, []):
                path = out if isinstance(out, str) else next(iter(out))
                assert not path.startswith(".."), (name, path)


def test_folder_spec_errors_name_the_file(tmp_path):
    root = _skeleton(tmp_path)
    (root / "real/folder.yaml").write_text("profile: real\nparms: {}\n")
    with pytest.raises(InputError, match=r"real/folder.yaml: unknown keys \['parms'\]"):
        write_pipeline(root / "real", root=root)
    (root / "real/folder.yaml").write_text("profile: real\nparams: {seeds: zero}\n")
    with pytest.raises(ParamsError, match="real/folder.yaml: key 'seeds' must be a list"):
        write_pipeline(root / "real", root=root)
    assert not (root / "real/dvc.yaml").exists()  # nothing written


@pytest.mark.skipif(not (ROOT / "real/metrics/evaluate/judges.json").exists(), reason="real/ results not committed")
def test_real_claims_read_the_real_folder_and_never_the_demo(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = cli(["claims", "--claims", "artifact/claims/real.yaml"])
    out = capsys.readouterr().out
    assert code in (0, 1) and "metrics: real/metrics/" in out  # 1: some claims did not reproduce
    for path in (ROOT / "real/metrics").rglob("*.json"):
        prov = json.loads(path.read_text()).get("provenance")
        if prov is not None:
            assert prov["profile"] == "real" and prov["source"] == "dump", path
    # the same claims against the demo's metrics stop with the provenance error
    assert cli(["claims", "--claims", "artifact/claims/real.yaml", "--metrics", "metrics"]) == 2
    assert "is about profile 'real'" in capsys.readouterr().err


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z']+", text.lower())


@pytest.mark.skipif(not (ROOT / "real/metrics").is_dir(), reason="real/ results not committed")
def test_no_real_text_in_the_committed_real_results(shared_data):
    """No run of 8 words from the shared real records appears in any committed file under real/."""
    import subprocess

    grams = set()
    for path in sorted(shared_data.glob("*/*.ndjson")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            for key in ("title", "selftext", "body"):
                if isinstance(record.get(key), str):
                    w = _words(record[key])
                    grams.update(tuple(w[i:i + 8]) for i in range(len(w) - 7))
    tracked = subprocess.run(["git", "ls-files", "real"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    leaks = {}
    for rel in tracked:
        path = ROOT / rel
        if path.is_symlink() or not path.is_file():
            continue
        w = _words(path.read_text(encoding="utf-8", errors="ignore"))
        hits = sum(tuple(w[i:i + 8]) in grams for i in range(len(w) - 7))
        if hits:
            leaks[rel] = hits
    assert len(tracked) > 50 and not leaks


def test_reports_quote_sentences_from_the_simulator_only():
    import importlib.util

    spec = importlib.util.spec_from_file_location("evaluate_stage", ROOT / "stages/evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    modes = {"stock": "a sentence someone wrote", "sft": "another one"}
    assert "“a sentence someone wrote”" in module.modes_line(modes, "demo")
    for source in ("dump", "praw"):
        line = module.modes_line(modes, source)
        assert "someone" not in line and "another" not in line and "not quoted" in line


@pytest.mark.skipif(not (ROOT / "real/metrics/threads.json").exists(), reason="real/ results not committed")
def test_docs_blocks_read_the_real_folder():
    from redditess.docs import Sources, gen_claims_count, gen_metric

    src = Sources(ROOT)
    units = json.loads((ROOT / "real/metrics/threads.json").read_text())["units"]
    assert gen_metric(src, "real:threads.units", ".0f") == f"{units:.0f}"
    assert gen_metric(src, "threads.units", ".0f") != "" and "of 5 claims" in gen_claims_count(src, "artifact/claims/real.yaml")
    with pytest.raises(InputError, match="real/metrics/nosuch"):
        gen_metric(src, "real:nosuch.units")
