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


def _test(raw: dict, where: str) -> Test:
    known = {"metric", "op", "expected", "tolerance", "among", "minus"}
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
    return Test(metric, op, expected, float(tolerance), among, raw.get("minus"))


def load_claims(path: Path) -> list[Claim]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
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
        if not _passes(t, value):
            return value, False, ""
        ci = ci_of(t, metrics_dir, cache)
        # The side of the CI that can fail the test: the low end for >=, the high end for <=, both otherwise.
        ends = () if ci is None else (ci[0],) if t.op == ">=" else (ci[1],) if t.op == "<=" else ci
        if not all(_passes(t, end) for end in ends):
            return value, False, f"the 95% CI [{ci[0]:.4g}, {ci[1]:.4g}] crosses the bound"
        return value, True, ""
    others = {m: read_metric(metrics_dir, m, cache) for m in t.among if m != t.metric}
    missing = [m for m, v in others.items() if v is None]
    if missing:
        return value, None, f"{missing[0]} missing"
    rank = 1 + sum(v >= value for v in others.values())  # ties count against the claim
    return value, rank <= t.expected, f"rank {rank} of {len(t.among)}"


def check(claims: list[Claim], metrics_dir: Path) -> list[Result]:
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
        results.append(Result(c, value, status, detail, sd, ci_of(c.test, metrics_dir, cache)))
    return results


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


def table(results: list[Result]) -> str:
    with_paper = any(r.claim.paper for r in results)
    head = "| id | claim | metric | test | measured: mean ± sd [95% CI] | status |" + (" paper |" if with_paper else "")
    lines = [head, "|---|---|---|---|---:|---|" + ("---|" if with_paper else "")]
    for r in results:
        c = r.claim
        status = r.status + (f" ({r.detail})" if r.detail else "")
        metric = f"`{c.metric}`" + (f" − `{c.test.minus}`" if c.test.minus else "")
        row = f"| {c.id} | {c.claim} | {metric} | {describe(c.test)} | {measured(r)} | {status} |"
        if with_paper:
            p = c.paper
            row += f" {p.get('value', '—')} ({p.get('source', 'not in the paper')}) |" if p else " — |"
        lines.append(row)
    n_ok = sum(r.status == "reproduced" for r in results)
    lines += ["", f"{n_ok} of {len(results)} claims reproduced. A claim holds when its mean and, where the metrics "
              "give one, its 95% CI both pass the test (sd and CI: across the replicates of `seeds`)."]
    return "\n".join(lines)


def default_claims_file(params) -> Path:
    """The claims file of the active profile: paper-scale models → paper, else the data source's."""
    if params.sft.base_model != "tiny":
        return Path("artifact/claims/paper.yaml")
    return Path("artifact/claims/demo.yaml" if params.collect.source == "demo" else "artifact/claims/real.yaml")


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
