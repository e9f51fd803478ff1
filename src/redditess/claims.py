"""The claims check: every claim of a profile's claims file against the produced metrics.

A reviewer (or the Docker image's entry point) runs ``redditess claims`` and reads one table:
which claims reproduced, with the measured value next to the test it had to pass.

Each profile has its own file, ``artifact/claims/<profile>.yaml``. A claim is a *test that can
fail*; the kinds of test are:

* ``>=`` / ``<=`` / ``==``: one metric against ``expected`` (± ``tolerance``);
* ``between``: two-sided, ``expected: [low, high]`` (inclusive);
* any test may name ``minus``: another metric subtracted from ``metric`` first (a gap between
  two measured quantities, e.g. agreement on effective minus agreement on ineffective);
* ``rank``: ``metric`` must be ranked ``expected`` (1 = highest) among the metrics listed in
  ``among`` (which must include ``metric``); ties rank pessimistically;
* ``requires``: optional preconditions (same shape, any op) — e.g. "the judge discriminates" —
  and a claim whose precondition fails is reported ``precondition failed`` and counts as not
  reproduced: a verdict from a judge that cannot tell effective from ineffective support is no
  evidence either way.

A claim may carry ``paper``: the paper's own figure (``value``, ``source``, ``reproduced_if``),
shown beside the artifact's, so a reviewer sees where the artifact departs from the paper.

**Baselines.** Every claim names the trivial baseline it must beat (``baseline:``: a metric, or a
list of metrics whose strictest counts; ``redditess.baselines`` computes them on the same test
sets; tests/test_artifact.py holds every shipped claim to it), or says why it has none (``baseline: {none: <reason>}``, e.g. a paired difference from the
arm it started from). A ``>=`` claim holds only when its value *and* its CI's low end lie above the
baseline (strictly) as well as above ``expected``, whichever is stricter; ``<=`` mirrors it; for
``between`` the baseline raises the low end.

**Provenance.** A claims file names the ``profile`` and the data ``sources`` its claims are about;
every metrics file it reads carries a provenance block (``redditess.provenance``), and a file from
another profile or source, or one without provenance, stops the check with one line naming it.

**Mean and CI.** A claim names a figure itself, never its CI bound (``<key>_ci_low`` is refused). When
the metrics file also holds ``<key>_ci_low`` / ``<key>_ci_high`` (evaluate's figures: the mean over
replicates with a 95% CI that includes the seed variation), the claim must hold for the mean *and*
the CI: ``>=`` checks the CI's low end too, ``<=`` its high end, ``between`` and ``==`` both ends
(``rank`` and ``minus`` tests compare means: a difference's CI is not in the file). A figure of the
model stages written once per replicate (``metrics/<stage>/<i>.json``, e.g.
``reward_model.test_pairwise_accuracy``) is read as its mean over the replicate files, its sd and a
Student-t 95% CI of that mean (``redditess.replicates.seed_ci``). The table shows mean ± sd [CI].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from redditess.replicates import mean_sd, seed_ci
from redditess.runtime import InputError

OPS = {">=", "<=", "==", "between", "rank"}
SUMMARY_SUFFIXES = ("_ci_low", "_ci_high", "_sd")
STATUSES = ("reproduced", "NOT reproduced", "precondition failed", "missing")


@dataclass(frozen=True)
class Test:
    """One check of a metric. ``metric`` is ``<metrics file stem>.<key>``."""

    metric: str
    op: str
    expected: float | tuple[float, float] | int
    tolerance: float = 0.0
    among: tuple[str, ...] = ()
    minus: str | None = None
    baseline: tuple[str, ...] = ()
    """Metrics of the trivial baselines the claimed figure must beat (the strictest counts)."""
    no_baseline: str = ""
    """Why the claim has no baseline (when ``baseline`` is empty)."""


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    test: Test
    requires: tuple[Test, ...] = ()
    paper: dict = field(default_factory=dict)

    @property
    def metric(self) -> str:
        return self.test.metric


@dataclass(frozen=True)
class Result:
    claim: Claim
    value: float | None
    status: str  # one of STATUSES
    detail: str = ""
    sd: float | None = None  # across replicates, when the metric has one
    ci: tuple[float, float] | None = None  # the 95% CI the claim was also checked against
    baseline: tuple[str, float] | None = None  # the strictest baseline (metric, value), where the claim names one


def _baseline(raw, where: str) -> tuple[tuple[str, ...], str]:
    if raw is None:
        return (), ""
    if isinstance(raw, dict):
        if set(raw) != {"none"} or not isinstance(raw["none"], str) or not raw["none"].strip():
            raise InputError(f"{where}: baseline must be a metric, a list of metrics or {{none: <reason>}}, got {raw!r}")
        return (), raw["none"].strip()
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and "." in n for n in names):
        raise InputError(f"{where}: baseline must be '<metrics file stem>.<key>' (or a list of them), got {raw!r}")
    return tuple(names), ""


def _test(raw: dict, where: str) -> Test:
    known = {"metric", "op", "expected", "tolerance", "among", "minus", "baseline"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (allowed: {sorted(known)})")
    for key in ("metric", "op", "expected"):
        if key not in raw:
            raise InputError(f"{where}: missing {key!r}")
    op, metric, expected = raw["op"], raw["metric"], raw["expected"]
    if op not in OPS:
        raise InputError(f"{where}: op must be one of {sorted(OPS)}, got {op!r}")
    for name in (metric, raw.get("minus", "x.y"), *(raw.get("among") or ())):
        if not isinstance(name, str) or "." not in name:
            raise InputError(f"{where}: metric must be '<metrics file stem>.<key>', got {name!r}")
        if name.endswith(SUMMARY_SUFFIXES):
            raise InputError(f"{where}: {name!r}: name the figure itself; its CI (and sd) are read and checked "
                             f"with it (a claim holds for the mean and the CI)")
    among = tuple(raw.get("among") or ())
    if op == "between":
        if not (isinstance(expected, list) and len(expected) == 2 and expected[0] <= expected[1]):
            raise InputError(f"{where}: op 'between' needs expected: [low, high] with low <= high, got {expected!r}")
        expected = (float(expected[0]), float(expected[1]))
    elif op == "rank":
        if metric not in among or len(among) < 2:
            raise InputError(f"{where}: op 'rank' needs 'among': a list of 2+ metrics that includes {metric!r}")
        if not (isinstance(expected, int) and 1 <= expected <= len(among)):
            raise InputError(f"{where}: op 'rank' needs expected: a rank from 1 to {len(among)}, got {expected!r}")
    elif not isinstance(expected, (int, float)) or isinstance(expected, bool):
        raise InputError(f"{where}: expected must be a number for op {op!r}, got {expected!r}")
    tolerance = raw.get("tolerance", 0.0)
    if not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise InputError(f"{where}: tolerance must be a number >= 0, got {tolerance!r}")
    if op == "rank" and raw.get("minus"):
        raise InputError(f"{where}: op 'rank' takes no 'minus'")
    baseline, why = _baseline(raw.get("baseline"), where)
    if baseline and op in ("==", "rank"):
        raise InputError(f"{where}: a baseline needs op >=, <= or between, not {op!r}")
    for name in baseline:
        if name.endswith(SUMMARY_SUFFIXES):
            raise InputError(f"{where}: baseline {name!r}: name the figure itself")
    return Test(metric, op, expected, float(tolerance), among, raw.get("minus"), baseline, why)


def load_claims(path: Path) -> list[Claim]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    unknown = sorted(set(raw) - {"profile", "sources", "claims", "pipeline"})
    if unknown:
        raise InputError(f"{path}: unknown top-level key {unknown[0]!r} (allowed: profile, sources, pipeline, claims)")
    claims, seen = [], set()
    for i, item in enumerate(raw.get("claims", [])):
        cid = item.get("id", f"#{i + 1}")
        where = f"{path}: claim {cid}"
        unknown = sorted(set(item) - {"id", "claim", "test", "requires", "paper"})
        if unknown:
            raise InputError(f"{where}: unknown key {unknown[0]!r}")
        if "claim" not in item or "test" not in item:
            raise InputError(f"{where}: needs 'claim' (the sentence) and 'test' (metric, op, expected)")
        if cid in seen:
            raise InputError(f"{where}: duplicate id")
        seen.add(cid)
        paper = item.get("paper") or {}
        if not isinstance(paper, dict) or set(paper) - {"value", "source", "reproduced_if"}:
            raise InputError(f"{where}: paper must be a mapping of value, source and reproduced_if, got {paper!r}")
        requires = tuple(_test(r, f"{where}: requires #{j + 1}") for j, r in enumerate(item.get("requires") or []))
        claims.append(Claim(str(cid), item["claim"], _test(item["test"], f"{where}: test"), requires, paper))
    if not claims:
        raise InputError(f"{path}: holds no claims")
    return claims


@dataclass(frozen=True)
class Scope:
    """What a claims file is about: the profile and the data sources whose metrics may answer it."""

    profile: str
    sources: tuple[str, ...]
    path: str


def load_scope(path: Path) -> Scope:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    profile, sources = raw.get("profile"), raw.get("sources")
    if not isinstance(profile, str) or not profile:
        raise InputError(f"{path}: needs 'profile': the params profile its claims are about (default, real, paper)")
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources or not all(s in ("demo", "dump", "praw") for s in sources):
        raise InputError(f"{path}: needs 'sources': a list of data sources (demo, dump, praw), got {sources!r}")
    return Scope(profile, tuple(sources), str(path))


def check_provenance(scope: Scope, metrics_dir: Path, stems: list[str]) -> None:
    """Stop (one line) when a metrics file the claims read comes from another profile or source,
    or says nothing of where it came from."""
    from redditess.provenance import KEY

    for stem in sorted(set(stems)):
        path = Path(metrics_dir) / f"{stem}.json"
        files = [path] if path.exists() else sorted((Path(metrics_dir) / stem).glob("*.json"))
        for f in files:
            block = json.loads(f.read_text(encoding="utf-8")).get(KEY)
            if not isinstance(block, dict):
                raise InputError(f"{f}: has no {KEY} block, so it cannot answer {scope.path} "
                                 "(written before provenance was recorded: re-run `dvc repro`)")
            if block.get("profile") != scope.profile or block.get("source") not in scope.sources:
                raise InputError(f"{scope.path} is about profile {scope.profile!r} on {'/'.join(scope.sources)} data, but {f} "
                                 f"was computed under profile {block.get('profile')!r} on {block.get('source')!r} data")


def metric_stems(claims: list[Claim]) -> list[str]:
    """Every metrics file stem the claims read."""
    names = []
    for c in claims:
        for t in (c.test, *c.requires):
            names += [t.metric, *(t.among or ()), *([t.minus] if t.minus else []), *t.baseline]
    return [n.split(".", 1)[0] for n in names]


def _number(value) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def load_metrics_file(metrics_dir: Path, stem: str) -> dict:
    """``<stem>.json``, or the summary of the per-replicate files ``<stem>/<i>.json``: each key's
    mean, ``_sd`` and a Student-t 95% CI (``_ci_low``/``_ci_high``) over the replicates."""
    path = Path(metrics_dir) / f"{stem}.json"
    if path.exists():
        return json.loads(path.read_text())
    files = sorted((Path(metrics_dir) / stem).glob("*.json")) if (Path(metrics_dir) / stem).is_dir() else []
    per_replicate = [json.loads(f.read_text()) for f in files]
    out: dict[str, float] = {}
    for key in sorted({k for m in per_replicate for k in m if not k.endswith(SUMMARY_SUFFIXES)}):
        values = [v for v in (_number(m.get(key)) for m in per_replicate) if v is not None]
        if not values:
            continue
        out[key], out[f"{key}_sd"] = mean_sd(values)
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = seed_ci(values)
    return out


def read_metric(metrics_dir: Path, metric: str, cache: dict) -> float | None:
    stem, key = metric.split(".", 1)
    if stem not in cache:
        cache[stem] = load_metrics_file(metrics_dir, stem)
    return _number(cache[stem].get(key))


def _passes(t: Test, value: float) -> bool:
    if t.op == ">=":
        return value >= t.expected - t.tolerance
    if t.op == "<=":
        return value <= t.expected + t.tolerance
    if t.op == "==":
        return abs(value - t.expected) <= t.tolerance
    low, high = t.expected
    return low - t.tolerance <= value <= high + t.tolerance


def ci_of(t: Test, metrics_dir: Path, cache: dict) -> tuple[float, float] | None:
    """The 95% CI a claim must also hold for: the metric's ``_ci_low``/``_ci_high`` when its file
    has both (not for rank or minus tests, which compare means)."""
    if t.op == "rank" or t.minus:
        return None
    low, high = (read_metric(metrics_dir, f"{t.metric}_ci_{side}", cache) for side in ("low", "high"))
    return None if low is None or high is None else (low, high)


def evaluate_test(t: Test, metrics_dir: Path, cache: dict) -> tuple[float | None, bool | None, str]:
    """(value, passed, detail); passed is None when a metric is missing."""
    value = read_metric(metrics_dir, t.metric, cache)
    if value is None:
        return None, None, f"{t.metric} missing"
    if t.minus:
        other = read_metric(metrics_dir, t.minus, cache)
        if other is None:
            return None, None, f"{t.minus} missing"
        value -= other
    if t.op != "rank":
        base = None
        if t.baseline:
            values = [read_metric(metrics_dir, b, cache) for b in t.baseline]
            missing = [b for b, v in zip(t.baseline, values, strict=True) if v is None]
            if missing:
                return value, None, f"baseline {missing[0]} missing"
            base = max(values) if t.op in (">=", "between") else min(values)
        ci = ci_of(t, metrics_dir, cache)
        # The side of the CI that can fail the test: the low end for >=, the high end for <=, both otherwise.
        ends = () if ci is None else (ci[0],) if t.op == ">=" else (ci[1],) if t.op == "<=" else ci
        if not _passes(t, value):
            return value, False, ""
        if not all(_passes(t, end) for end in ends):
            return value, False, f"the 95% CI [{ci[0]:.4g}, {ci[1]:.4g}] crosses the bound"
        if base is not None:
            beats = (lambda v: v > base) if t.op in (">=", "between") else (lambda v: v < base)
            low_end = () if ci is None else (ci[0],) if t.op in (">=", "between") else (ci[1],)
            if not beats(value):
                return value, False, f"does not beat the baseline ({base:.4g})"
            if not all(beats(e) for e in low_end):
                return value, False, f"the 95% CI [{ci[0]:.4g}, {ci[1]:.4g}] does not clear the baseline ({base:.4g})"
        return value, True, ""
    others = {m: read_metric(metrics_dir, m, cache) for m in t.among if m != t.metric}
    missing = [m for m, v in others.items() if v is None]
    if missing:
        return value, None, f"{missing[0]} missing"
    rank = 1 + sum(v >= value for v in others.values())  # ties count against the claim
    return value, rank <= t.expected, f"rank {rank} of {len(t.among)}"


def check(claims: list[Claim], metrics_dir: Path, scope: Scope | None = None) -> list[Result]:
    """Every claim's verdict; with ``scope`` (the claims file's profile and sources), first the
    provenance of every metrics file the claims read (:func:`check_provenance`)."""
    if scope is not None:
        check_provenance(scope, metrics_dir, metric_stems(claims))
    results, cache = [], {}
    for c in claims:
        failed = []
        for r in c.requires:
            rv, ok, detail = evaluate_test(r, metrics_dir, cache)
            if not ok:
                failed.append(detail or f"{r.metric} = {rv:.4g} fails {describe(r)}")
        value, ok, detail = evaluate_test(c.test, metrics_dir, cache)
        if ok is None:
            status = "missing"
        elif failed:
            status, detail = "precondition failed", "; ".join(failed)
        else:
            status = "reproduced" if ok else "NOT reproduced"
        sd = None if c.test.minus else read_metric(metrics_dir, f"{c.metric}_sd", cache)
        results.append(Result(c, value, status, detail, sd, ci_of(c.test, metrics_dir, cache),
                              strictest_baseline(c.test, metrics_dir, cache)))
    return results


def strictest_baseline(t: Test, metrics_dir: Path, cache: dict) -> tuple[str, float] | None:
    values = [(b, read_metric(metrics_dir, b, cache)) for b in t.baseline]
    values = [(b, v) for b, v in values if v is not None]
    if not values:
        return None
    return (max if t.op in (">=", "between") else min)(values, key=lambda bv: bv[1])


def describe(t: Test) -> str:
    if t.op == "between":
        bound = f"in [{t.expected[0]:g}, {t.expected[1]:g}]"
    elif t.op == "rank":
        bound = f"rank ≤ {t.expected} of {len(t.among)}"
    else:
        bound = f"{t.op} {t.expected:g}"
    return bound + (f" ± {t.tolerance:g}" if t.tolerance else "")


def measured(r: Result) -> str:
    """mean ± sd [95% CI], each part where the metric has it."""
    if r.value is None:
        return "—"
    text = f"{r.value:.4g}" + (f" ± {r.sd:.2g}" if r.sd is not None else "")
    return text + (f" [{r.ci[0]:.4g}, {r.ci[1]:.4g}]" if r.ci else "")


def baseline_cell(r: Result) -> str:
    if r.baseline:
        return f"`{r.baseline[0]}` = {r.baseline[1]:.4g}"
    if r.claim.test.baseline:
        return "missing"
    return f"none: {r.claim.test.no_baseline}" if r.claim.test.no_baseline else "—"


def table(results: list[Result]) -> str:
    with_paper = any(r.claim.paper for r in results)
    head = "| id | claim | metric | test | measured: mean ± sd [95% CI] | must beat | status |" + (" paper |" if with_paper else "")
    lines = [head, "|---|---|---|---|---:|---|---|" + ("---|" if with_paper else "")]
    for r in results:
        c = r.claim
        status = r.status + (f" ({r.detail})" if r.detail else "")
        metric = f"`{c.metric}`" + (f" − `{c.test.minus}`" if c.test.minus else "")
        row = f"| {c.id} | {c.claim} | {metric} | {describe(c.test)} | {measured(r)} | {baseline_cell(r)} | {status} |"
        if with_paper:
            p = c.paper
            row += f" {p.get('value', '—')} ({p.get('source', 'not in the paper')}) |" if p else " — |"
        lines.append(row)
    n_ok = sum(r.status == "reproduced" for r in results)
    lines += ["", f"{n_ok} of {len(results)} claims reproduced. A claim holds when its mean and, where the metrics "
              "give one, its 95% CI both pass the test and clear the baseline it must beat (sd and CI: across the "
              "replicates of `seeds` and the test posts)."]
    return "\n".join(lines)


def verdict_table(results: list[Result]) -> str:
    """The reviewer's table: claim, the paper's figure, ours (mean ± sd [95% CI]), the test, the
    baseline it had to beat, the verdict; then "N of M claims reproduced". README.md's is this
    table on the committed metrics (``redditess docs``)."""
    lines = ["| id | claim | paper | ours: mean ± sd [95% CI] | test | must beat | verdict |", "|---|---|---|---:|---|---|---|"]
    for r in results:
        c = r.claim
        # the CI is in the "ours" column and the metric in `redditess claims`: the verdict says only why
        detail = "CI crosses the bound" if r.detail.startswith("the 95% CI") else (
            "no such metric" if r.status == "missing" else r.detail)
        status = r.status if r.status == "reproduced" else f"**{r.status}**" + (f" ({detail})" if detail else "")
        paper = c.paper.get("value", "—") if c.paper else "—"
        base = baseline_cell(r) if r.claim.test.baseline else "none"  # why none: `redditess claims`
        if r.baseline:  # the baseline's file (its last part) and key; `redditess claims` names the whole path
            base = f"`{r.baseline[0].split('/')[-1]}` {r.baseline[1]:.4g}"
        lines.append(f"| {c.id} | {c.claim} | {paper} | {measured(r)} | {describe(c.test)} | {base} | {status} |")
    n_ok = sum(r.status == "reproduced" for r in results)
    lines += ["", f"{n_ok} of {len(results)} claims reproduced."]
    return "\n".join(lines)


def pipeline_root(path: Path, root: Path = Path(".")) -> Path:
    """The pipeline folder whose ``metrics/`` and ``dvc.lock`` the claims file's claims are about:
    its ``pipeline:`` key (``real`` for the real-data profile's folder pipeline), else the top."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    folder = raw.get("pipeline", ".")
    if not isinstance(folder, str) or not folder or folder.startswith(("/", "..")):
        raise InputError(f"{path}: 'pipeline' names a folder of this repository (e.g. real), got {folder!r}")
    if folder != "." and not (root / folder / "dvc.yaml").exists():
        raise InputError(f"{path}: pipeline {folder!r} has no {Path(folder) / 'dvc.yaml'}")
    return Path(folder)


def default_claims_file(params) -> Path:
    """The claims file of the active profile (``params.profile``; the default profile's is demo.yaml)."""
    return Path(f"artifact/claims/{'demo' if params.profile == 'default' else params.profile}.yaml")


def missing_outputs(lock: Path) -> tuple[list[str], int]:
    """Outputs ``lock`` (dvc.lock) records that are absent from the workspace, and how many it records.

    After ``dvc repro --pull --allow-missing`` without a ``dvc pull`` the stages are "up to date" but
    data and models are not there; the claims table (read from the metrics committed to git) says so
    rather than letting an empty workspace pass silently."""
    if not lock.exists():
        return [], 0
    stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {})
    paths = sorted({o["path"] for s in stages.values() for o in s.get("outs", [])})
    root = lock.parent
    return [p for p in paths if not (root / p).exists()], len(paths)
