"""Replicates of the policy-model stages: which one a stage run is, its seed, its paths.

``params.seeds`` lists replicate indices (default ``[0, 1, 2]``); dvc.yaml runs sft, reward_model,
ppo, dpo and generate once per entry (``foreach: ${seeds}``, e.g. ``sft@1`` runs
``python -m redditess.launch stages/sft.py 1``). Replicate ``i`` writes ``models/<stage>/<i>/``,
``metrics/<stage>/<i>.json``, ``plots/<stage>/<i>.csv`` and ``data/generations/seed_<i>.parquet``;
its RNG seed is derived from the one ``seed`` and ``i``. Replicate 0 keeps the streams a single run
had (its purpose string is the stage name alone), so adding replicates changes nobody's replicate 0.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

from redditess.runtime import InputError, derive_seed


def replicate_seed(seed: int, purpose: str, replicate: int) -> int:
    """The RNG seed of ``purpose`` (a stage name) in replicate ``replicate``."""
    return derive_seed(seed, purpose if replicate == 0 else f"{purpose}#replicate{replicate}")


def replicate_from_argv(seeds: Sequence[int], argv: Sequence[str] | None = None) -> int:
    """The replicate a stage run is for: its one argument (``python stages/sft.py 1``), or the first
    entry of ``seeds`` without one. An index not in ``seeds`` is an error naming the param."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        return seeds[0]
    if len(args) != 1 or not args[0].isdigit():
        raise InputError(f"usage: stages/<stage>.py [REPLICATE] (one of seeds {list(seeds)}), got {args}")
    replicate = int(args[0])
    if replicate not in seeds:
        raise InputError(f"replicate {replicate} is not in params.yaml's seeds {list(seeds)}")
    return replicate


def model_dir(stage: str, replicate: int) -> str:
    """``models/<stage>/<replicate>`` (stage: base, sft, reward_model, ppo, dpo)."""
    return f"models/{stage}/{replicate}"


def metrics_file(stage: str, replicate: int) -> str:
    return f"metrics/{stage}/{replicate}.json"


def plot_file(name: str, replicate: int) -> str:
    return f"plots/{name}/{replicate}.csv"


def generations_file(replicate: int) -> str:
    return f"data/generations/seed_{replicate}.parquet"


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample sd (ddof 1) of replicate values, NaNs skipped; sd is NaN for one value."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return float("nan"), float("nan")
    mean = sum(vals) / len(vals)
    if len(vals) < 2:
        return mean, float("nan")
    return mean, math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))


def seed_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Student-t CI of the mean over replicates (for a figure with no per-post resampling, e.g. a
    reward model's held-out accuracy): it widens as replicates disagree or are few; NaN for one."""
    from scipy.stats import t

    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    mean, sd = mean_sd(vals)
    if len(vals) < 2:
        return float("nan"), float("nan")
    half = t.ppf(0.5 + level / 2, len(vals) - 1) * sd / math.sqrt(len(vals))
    return mean - half, mean + half
