"""The claims check: every claim in artifact/claims.yaml against the produced metrics.

A reviewer (or the Docker image's entry point) runs ``redditess claims`` and reads one table:
which claims reproduced, with the measured value next to the expected bound.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from redditess.runtime import InputError

OPS = {">=", "<=", "=="}


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    metric: str
    op: str
    expected: float
    tolerance: float = 0.0


@dataclass(frozen=True)
class Result:
    claim: Claim
    value: float | None
    status: str  # reproduced | NOT reproduced | missing


def load_claims(path: Path) -> list[Claim]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    claims = []
    for i, item in enumerate(raw.get("claims", [])):
        try:
            claim = Claim(**item)
        except TypeError as exc:
            raise InputError(f"{path}: claim #{i + 1}: {exc}") from None
        if claim.op not in OPS:
            raise InputError(f"{path}: claim {claim.id}: op must be one of {sorted(OPS)}, got {claim.op!r}")
        if "." not in claim.metric:
            raise InputError(f"{path}: claim {claim.id}: metric must be '<metrics file stem>.<key>', got {claim.metric!r}")
        claims.append(claim)
    return claims


def check(claims: list[Claim], metrics_dir: Path) -> list[Result]:
    results = []
    for c in claims:
        stem, key = c.metric.split(".", 1)
        path = metrics_dir / f"{stem}.json"
        value = json.loads(path.read_text()).get(key) if path.exists() else None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            results.append(Result(c, None, "missing"))
            continue
        ok = {
            ">=": value >= c.expected - c.tolerance,
            "<=": value <= c.expected + c.tolerance,
            "==": abs(value - c.expected) <= c.tolerance,
        }[c.op]
        results.append(Result(c, float(value), "reproduced" if ok else "NOT reproduced"))
    return results


def table(results: list[Result]) -> str:
    lines = ["| id | claim | metric | expected | measured | status |", "|---|---|---|---|---:|---|"]
    for r in results:
        c = r.claim
        bound = f"{c.op} {c.expected:g}" + (f" ± {c.tolerance:g}" if c.tolerance else "")
        measured = "—" if r.value is None else f"{r.value:.4g}"
        lines.append(f"| {c.id} | {c.claim} | `{c.metric}` | {bound} | {measured} | {r.status} |")
    n_ok = sum(r.status == "reproduced" for r in results)
    lines.append("")
    lines.append(f"{n_ok} of {len(results)} claims reproduced.")
    return "\n".join(lines)


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
