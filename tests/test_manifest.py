"""Dumps as pinned inputs: the manifest (path, size, SHA-256), the check against a published hash
list, both dump naming schemes, and through real `dvc`: an appended record re-runs collect, a
renamed dump with the same content leaves the data-stage hashes unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from test_pipeline import init_repo, sh

from redditess.runtime import InputError
from redditess.sources.dump import kind_of
from redditess.sources.manifest import build_manifest, verify

from conftest import run_stage, write_params


@pytest.mark.parametrize("name, kind", [
    ("RS_2021-06.zst", "submission"), ("RC_2021-06.zst", "comment"), ("rc_2019-01.ndjson", "comment"),
    ("depression_submissions.zst", "submission"), ("SuicideWatch_comments.zst", "comment"),
    ("mental_health_comments.ndjson", "comment"), ("notes.ndjson", None),
])
def test_pushshift_monthly_and_arctic_shift_per_subreddit_names(name, kind):
    assert kind_of(Path(name)) == kind


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_manifest_and_published_hash_list(tmp_path):
    root = tmp_path / "dumps"
    (root / "sub").mkdir(parents=True)
    a, b = root / "RS_2021-01.ndjson", root / "sub" / "depression_comments.ndjson"
    a.write_bytes(b'{"id": "p1"}\n')
    b.write_bytes(b'{"id": "c1"}\n')
    entries = build_manifest([b, a], root)
    assert entries == [{"path": "RS_2021-01.ndjson", "size": 13, "sha256": _sha(b'{"id": "p1"}\n')},
                       {"path": "sub/depression_comments.ndjson", "size": 13, "sha256": _sha(b'{"id": "c1"}\n')}]
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"# published\n{_sha(a.read_bytes())}  RS_2021-01.ndjson\n{_sha(b.read_bytes())} *depression_comments.ndjson\n")
    verify(entries, sums)  # both listed, both match
    sums.write_text(f"{'0' * 64}  RS_2021-01.ndjson\n{_sha(b.read_bytes())}  depression_comments.ndjson\n")
    with pytest.raises(InputError, match=r"^RS_2021-01.ndjson: SHA-256 [0-9a-f]{64} differs from 0{64} in "):
        verify(entries, sums)
    sums.write_text(f"{_sha(a.read_bytes())}  RS_2021-01.ndjson\n")
    with pytest.raises(InputError, match="no hash listed for dump file sub/depression_comments.ndjson"):
        verify(entries, sums)
    sums.write_text("not a hash line\n")
    with pytest.raises(InputError, match=r"SHA256SUMS:1: not a sha256sum line"):
        verify(entries, sums)
    outside = tmp_path / "RC_elsewhere.ndjson"
    outside.write_text("{}\n")
    with pytest.raises(InputError, match="lies outside collect.dump.root"):
        build_manifest([outside], root)


def _records(tmp: Path):
    subs = [{"id": f"p{i}", "author": f"op{i}", "title": "Feeling low", "selftext": "I can't sleep", "subreddit": "depression",
             "created_utc": 1609459200 + i, "edited": 1609460000 + i, "score": 3} for i in range(3)]
    coms = []
    for i in range(3):
        coms += [{"id": f"c{i}", "link_id": f"t3_p{i}", "parent_id": f"t3_p{i}", "author": "helper", "body": "That sounds hard.",
                  "created_utc": 1609459300 + i, "score": 4},
                 {"id": f"r{i}", "link_id": f"t3_p{i}", "parent_id": f"t1_c{i}", "author": f"op{i}", "body": "thank you",
                  "created_utc": 1609459400 + i, "score": 1}]
    return subs, coms


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _lock(repo: Path) -> dict:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {o["path"]: o["md5"] for s in lock["stages"].values() for o in s.get("outs", [])}


@pytest.mark.slow
def test_dump_content_is_a_dvc_dependency_and_names_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("REDDITESS_SALT", "manifest-test-salt-0123456789")
    repo = init_repo(tmp_path / "repo", {"collect": {"source": "dump", "dump": {"paths": ["dumps/*.ndjson"]}}})
    subs, coms = _records(tmp_path)
    _write(repo / "dumps/depression_submissions.ndjson", subs)
    _write(repo / "dumps/depression_comments.ndjson", coms[:-1])
    sh(repo, "dvc", "repro", "threads")
    assert "Data and pipelines are up to date" in sh(repo, "dvc", "status", "collect")
    first = _lock(repo)
    manifest = json.loads((repo / "data/dumps_manifest.json").read_text())
    assert [e["path"] for e in manifest] == ["depression_comments.ndjson", "depression_submissions.ndjson"]

    with open(repo / "dumps/depression_comments.ndjson", "a") as fh:  # append one record
        fh.write(json.dumps(coms[-1]) + "\n")
    status = sh(repo, "dvc", "status", "collect")
    assert "collect:" in status and "modified:" in status and "dumps" in status
    sh(repo, "dvc", "repro", "threads")
    appended = _lock(repo)
    assert appended["data/raw"] != first["data/raw"]

    # the same content under the other naming scheme: collect runs again, its data are unchanged
    (repo / "dumps/depression_comments.ndjson").rename(repo / "dumps/RC_2021-01.ndjson")
    (repo / "dumps/depression_submissions.ndjson").rename(repo / "dumps/RS_2021-01.ndjson")
    out = sh(repo, "dvc", "repro", "threads")
    assert "Running stage 'collect'" in out and "Running stage 'threads'" not in out
    renamed = _lock(repo)
    assert renamed["data/raw"] == appended["data/raw"]
    assert renamed["data/threads.parquet"] == appended["data/threads.parquet"]
    assert renamed["data/dumps_manifest.json"] != appended["data/dumps_manifest.json"]


def test_collect_checks_the_published_hash_list(tmp_path, monkeypatch):
    from conftest import copy_pipeline

    monkeypatch.setenv("REDDITESS_SALT", "manifest-test-salt-0123456789")
    repo = copy_pipeline(tmp_path / "repo")
    subs, coms = _records(tmp_path)
    _write(repo / "dumps/RS_2021-01.ndjson", subs)
    _write(repo / "dumps/RC_2021-01.ndjson", coms)
    good = "".join(f"{_sha((repo / 'dumps' / n).read_bytes())}  {n}\n" for n in ("RS_2021-01.ndjson", "RC_2021-01.ndjson"))
    (repo / "SHA256SUMS").write_text(good)
    write_params(repo, {"collect": {"source": "dump", "dump": {"paths": ["dumps/R*.ndjson"], "sha256sums": "SHA256SUMS"}}})
    run_stage(repo, "collect")
    assert len(json.loads((repo / "data/dumps_manifest.json").read_text())) == 2
    with open(repo / "dumps/RC_2021-01.ndjson", "a") as fh:
        fh.write("{}\n")
    proc = run_stage(repo, "collect", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: RC_2021-01.ndjson: SHA-256 ")
