"""The reviewer's path through real `dvc`: results committed to git and visible on a fresh clone, a
read-only HTTP remote and an S3 remote served on 127.0.0.1, and the Docker entry point run on the
host against a temporary clone (no Docker)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import ROOT, TINY, copy_pipeline, stage_env, write_params

pytestmark = pytest.mark.slow

# What the images and the claims check need besides the pipeline itself.
REVIEWER_FILES = ["artifact", "docker", "profiles", ".dvc/plots", ".dvc/plots_offline.html"]


def run(repo: Path, *cmd: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=repo, env=env or stage_env(repo), capture_output=True, text=True)


def sh(repo: Path, *cmd: str) -> str:
    proc = run(repo, *cmd)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clone(published, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(published.author), str(dest)], check=True)
    for key, value in (("user.email", "test@localhost"), ("user.name", "test")):
        sh(dest, "git", "config", key, value)
    return dest


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> SimpleNamespace:
    """An author's repository: the tiny pipeline reproduced, its results committed, its cache pushed
    to a directory (the store every remote below serves)."""
    base = tmp_path_factory.mktemp("published")
    author = copy_pipeline(base / "author")
    write_params(author, TINY)
    sh(author, "git", "init", "-q")
    sh(author, "git", "config", "user.email", "test@localhost")
    sh(author, "git", "config", "user.name", "test")
    sh(author, "dvc", "init", "-q")
    for name in REVIEWER_FILES:
        src, dst = ROOT / name, author / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy2(src, dst)
    (author / "profiles/tiny.yaml").write_text(yaml.safe_dump(TINY))  # what REDDITESS_PROFILE names below
    # The repository's [plots] section (the offline page template); its remote stays out.
    config = (ROOT / ".dvc/config").read_text()
    with open(author / ".dvc/config", "a") as fh:
        fh.write(config[config.index("[plots]"):])
    sh(author, "git", "add", "-A")
    sh(author, "git", "commit", "-qm", "pipeline")
    sh(author, "dvc", "repro", "-q")
    sh(author, "git", "add", "-A")
    sh(author, "git", "commit", "-qm", "results")
    store = base / "store"
    sh(author, "dvc", "remote", "add", "--local", "store", str(store))
    sh(author, "dvc", "push", "-q", "-r", "store")
    claims = run(author, "redditess", "claims")
    return SimpleNamespace(author=author, store=store, claims=claims.stdout, claims_rc=claims.returncode)


def test_results_are_committed_and_a_fresh_clone_shows_them_without_running_anything(published, tmp_path):
    tracked = set(sh(published.author, "git", "ls-files", "metrics", "plots", "reports").split())
    written = {str(p.relative_to(published.author)) for d in ("metrics", "plots", "reports")
               for p in (published.author / d).rglob("*") if p.is_file()}
    assert written and written == tracked  # every metrics file, plot table and report is in git
    assert published.claims_rc in (0, 1) and "| D1 |" in published.claims
    # Only a crisis claim may lack its metric, when the tiny run's test split holds no crisis post.
    missing = [line for line in published.claims.splitlines() if "| missing" in line]
    no_crisis = json.loads((published.author / "metrics/evaluate/crisis.json").read_text())["posts"] == 0
    judges = json.loads((published.author / "metrics/evaluate/judges.json").read_text())
    one_class = judges.get("judge_gold_generations_roc_auc") is None  # the tiny policies' answers: one gold class
    assert all(("crisis" in line and no_crisis) or ("judge_gold_generations" in line and one_class) for line in missing), missing

    repo = clone(published, tmp_path / "clone")
    assert sh(repo, "dvc", "remote", "list").strip() == ""
    assert not (repo / "models").exists() and not (repo / "data").exists()
    shown = sh(repo, "dvc", "metrics", "show", "--json")
    assert '"gold_rate"' in shown and '"test_roc_auc"' in shown
    assert '"ppo_reward"' in sh(repo, "dvc", "plots", "show", "--json")
    diff = sh(repo, "dvc", "metrics", "diff", "HEAD~1", "--json")  # across commits: the pipeline had none
    assert '"gold_rate"' in diff
    claims = run(repo, "redditess", "claims")
    assert claims.stdout == published.claims and claims.returncode == published.claims_rc
    notes = claims.stderr.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: ")
    assert "not in this workspace" in notes[0] and "`dvc pull` fetches data and models" in notes[0]
    tables = sh(repo, "redditess", "metrics")
    assert "## evaluate/arms/ppo" in tables and "| gold_rate |" in tables
    assert max(map(len, tables.splitlines())) < 120  # one narrow table per stage, not one 4,000-character row


class ReadOnlyHandler(http.server.SimpleHTTPRequestHandler):
    methods: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.methods.append("GET")
        super().do_GET()

    def do_HEAD(self):
        self.methods.append("HEAD")
        super().do_HEAD()


def test_http_remote_pull_then_repro_pull_allow_missing_runs_nothing(published, tmp_path):
    ReadOnlyHandler.methods = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(ReadOnlyHandler, directory=str(published.store)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        repo = clone(published, tmp_path / "clone")
        sh(repo, "dvc", "remote", "add", "-d", "--local", "reviewers", f"http://127.0.0.1:{server.server_address[1]}")

        # Without a pull first: nothing runs and the claims table still reads, but it says in one
        # line that data and models are not here.
        out = sh(repo, "dvc", "repro", "--pull", "--allow-missing")
        assert "Running stage" not in out
        claims = run(repo, "redditess", "claims")
        assert claims.stdout == published.claims
        assert len(claims.stderr.strip().splitlines()) == 1 and "not in this workspace" in claims.stderr

        sh(repo, "dvc", "pull")
        assert (repo / "models/ppo/0/model.safetensors").exists() and (repo / "data/threads.parquet").exists()
        out = sh(repo, "dvc", "repro", "--pull", "--allow-missing")
        assert "Running stage" not in out
        assert "Data and pipelines are up to date" in sh(repo, "dvc", "status")
        claims = run(repo, "redditess", "claims")
        assert claims.stdout == published.claims and claims.returncode == published.claims_rc
        assert claims.stderr.strip() == ""
        assert ReadOnlyHandler.methods and set(ReadOnlyHandler.methods) <= {"GET", "HEAD"}
    finally:
        server.shutdown()
        server.server_close()


def serve_read_only(folder: Path) -> http.server.ThreadingHTTPServer:
    ReadOnlyHandler.methods = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(ReadOnlyHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_archive_bundle_served_over_http_pulls_into_a_fresh_clone_and_repro_runs_nothing(published, tmp_path):
    """`redditess archive`: the reviewer bundle (the DVC cache of every output in a remote's layout,
    dvc.lock, SHA256SUMS, ARCHIVE.md), served read-only over HTTP as a Zenodo copy would be after
    unpacking; a fresh clone pulls every output from it and `dvc repro` then runs nothing."""
    bundle = tmp_path / "bundle"
    image = tmp_path / "redditess-cpu.tar"
    image.write_bytes(b"not a real image, only its place in the bundle")
    out = sh(published.author, "redditess", "archive", "--out", str(bundle), "--image", str(image), "--tar")
    assert "cache objects" in out and (tmp_path / "bundle.tar").stat().st_size > 0
    assert {p.name for p in bundle.iterdir()} == {"dvc-remote", "dvc.lock", "dvc.yaml", "params.yaml", "image", "ARCHIVE.md",
                                                  "SHA256SUMS"}
    assert (bundle / "dvc.lock").read_text() == (published.author / "dvc.lock").read_text()
    commit = sh(published.author, "git", "rev-parse", "HEAD").strip()
    assert commit in (bundle / "ARCHIVE.md").read_text() and "dvc remote add -d --local archive" in (bundle / "ARCHIVE.md").read_text()
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=bundle).returncode == 0
    listed = {line.split("  ", 1)[1] for line in (bundle / "SHA256SUMS").read_text().splitlines()}
    assert listed == {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file() and p.name != "SHA256SUMS"}

    server = serve_read_only(bundle)
    try:
        repo = clone(published, tmp_path / "clone")
        sh(repo, "dvc", "remote", "add", "-d", "--local", "archive", f"http://127.0.0.1:{server.server_address[1]}/dvc-remote")
        sh(repo, "dvc", "pull")
        assert (repo / "models/ppo/0/model.safetensors").exists() and (repo / "data/threads.parquet").exists()
        assert "Running stage" not in sh(repo, "dvc", "repro")
        assert "Data and pipelines are up to date" in sh(repo, "dvc", "status")
        claims = run(repo, "redditess", "claims")
        assert claims.stdout == published.claims and claims.stderr.strip() == ""
        assert ReadOnlyHandler.methods and set(ReadOnlyHandler.methods) <= {"GET", "HEAD"}
    finally:
        server.shutdown()
        server.server_close()


def test_archive_refuses_what_a_reviewers_clone_would_not_match(published, tmp_path):
    repo = clone(published, tmp_path / "clone")
    sh(repo, "dvc", "remote", "add", "-d", "--local", "store", str(published.store))
    sh(repo, "dvc", "pull", "-q")
    (repo / "params.yaml").write_text((repo / "params.yaml").read_text() + "\n# edited\n")
    proc = run(repo, "redditess", "archive", "--out", str(tmp_path / "b1"))
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: params.yaml: uncommitted changes") and not (tmp_path / "b1").exists()
    sh(repo, "git", "checkout", "params.yaml")
    (tmp_path / "b2").mkdir()
    (tmp_path / "b2" / "x").write_text("x")
    proc = run(repo, "redditess", "archive", "--out", str(tmp_path / "b2"))
    assert proc.returncode == 2 and "exists and is not empty" in proc.stderr
    proc = run(repo, "redditess", "archive", "--out", str(repo / "bundle"))
    assert proc.returncode == 2 and "inside the workspace" in proc.stderr


def test_s3_round_trip_through_a_local_s3_server(published, tmp_path):
    pytest.importorskip("dvc_s3", reason="the s3 extra: pip install -r requirements-s3.txt")
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
        s3.create_bucket(Bucket="redditess")

        def configure(repo: Path) -> None:
            sh(repo, "dvc", "remote", "add", "--local", "s3", "s3://redditess/store")
            for key, value in (("endpointurl", endpoint), ("access_key_id", "test"), ("secret_access_key", "test"),
                               ("region", "us-east-1")):
                sh(repo, "dvc", "remote", "modify", "--local", "s3", key, value)

        configure(published.author)
        sh(published.author, "dvc", "push", "-q", "-r", "s3")
        stored = s3.list_objects_v2(Bucket="redditess", Prefix="store/files/md5/")["KeyCount"]
        assert stored > 10

        repo = clone(published, tmp_path / "clone")
        configure(repo)
        sh(repo, "dvc", "pull", "-q", "-r", "s3")
        assert (repo / "models/ppo/0/model.safetensors").exists()
        assert "Data and pipelines are up to date" in sh(repo, "dvc", "status")
        assert "Running stage" not in sh(repo, "dvc", "repro")
    finally:
        server.stop()


def entrypoint(repo: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**stage_env(repo), "REDDITESS_HOME": str(repo), **env}
    return run(repo, "bash", str(repo / "docker/entrypoint.sh"), env=full)


def test_entrypoint_on_the_host_pulls_reproduces_nothing_and_checks_the_claims(published, tmp_path):
    repo = clone(published, tmp_path / "clone")
    sh(repo, "dvc", "remote", "add", "-d", "--local", "store", str(published.store))
    proc = entrypoint(repo, REDDITESS_PROFILE="tiny")  # the profile the results were built with: nothing to set
    assert proc.returncode == published.claims_rc, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "params.yaml: 0 values set from profiles/tiny.yaml" in proc.stdout
    assert "pulled every output from DVC remote 'store'" in proc.stdout
    assert "Running stage" not in proc.stdout
    assert proc.stdout.endswith(published.claims)
    assert "secrets not set" in proc.stdout and (repo / "reports/claims.md").exists()


def test_entrypoint_stops_on_a_failed_pull_or_a_bad_profile_with_one_line(published, tmp_path):
    repo = clone(published, tmp_path / "clone")
    empty = tmp_path / "empty-remote"
    empty.mkdir()
    sh(repo, "dvc", "remote", "add", "-d", "--local", "store", str(empty))
    proc = entrypoint(repo)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(f"error: dvc pull from remote 'store' ({empty}) failed: ")
    assert "Running stage" not in proc.stdout

    proc = entrypoint(repo, REDDITESS_PROFILE="nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: profiles/nope.yaml: no such profile (have: ['default', 'paper', 'real', 'tiny'])"]


def test_entrypoint_is_executable_and_strict():
    path = ROOT / "docker/entrypoint.sh"
    assert os.access(path, os.X_OK)
    assert "set -euo pipefail" in path.read_text()
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
