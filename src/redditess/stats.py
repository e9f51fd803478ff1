"""Confidence intervals the claims rest on: over posts, and over posts *and* replicates.

* :func:`cluster_bootstrap_ci` — a statistic of labeled rows (a classifier's ROC-AUC on held-out
  comments) with its percentile CI from resampling whole posts (comments of one post are not
  independent).
* :func:`hierarchical_ci` — a figure of the model stages, measured per replicate and per post
  (``values[r, p]``: replicate r's value on post p, e.g. whether its response was effective). The
  CI is the wider of (a) a two-level bootstrap that resamples replicates, then posts, and (b) a
  Student-t interval over the replicates' means; so a figure that swings from seed to seed cannot
  hide behind many posts, and one that varies over posts cannot hide behind few seeds.
* :func:`wider` — the wider of two intervals (the rule above, also for regressions).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def percentile_ci(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    return float(np.percentile(draws, tail)), float(np.percentile(draws, 100 - tail))


def cluster_bootstrap_ci(stat: Callable[[np.ndarray], float], clusters: np.ndarray, n_boot: int,
                         rng: np.random.Generator) -> tuple[float, float]:
    """Percentile 95% CI of ``stat(row indices)`` over ``n_boot`` resamples of whole clusters
    (``clusters[i]``: row i's post). A resample on which the statistic is undefined (one class
    only, for an AUC) is skipped."""
    codes, inverse = np.unique(clusters, return_inverse=True)
    members = [np.flatnonzero(inverse == k) for k in range(len(codes))]
    draws = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, len(members), size=len(members))
        rows = np.concatenate([members[k] for k in pick]) if len(members) else np.zeros(0, dtype=int)
        try:
            draws[b] = stat(rows)
        except ValueError:
            draws[b] = np.nan
    return percentile_ci(draws)


def t_interval(means: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t CI of the mean of per-replicate figures (NaN with fewer than two)."""
    from scipy.stats import t

    means = np.asarray(means, dtype=float)
    means = means[np.isfinite(means)]
    if len(means) < 2:
        return float("nan"), float("nan")
    half = t.ppf(0.5 + level / 2, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means))
    return float(means.mean() - half), float(means.mean() + half)


def wider(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The wider of two intervals (an undefined one loses)."""
    width = [hi - lo if np.isfinite(lo) and np.isfinite(hi) else -1.0 for lo, hi in (a, b)]
    return a if width[0] >= width[1] else b


def hierarchical_ci(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[float, float]:
    """95% CI of the grand mean of ``values[r, p]`` (replicates × posts; NaN = missing): the wider of
    the replicates-then-posts bootstrap and the t-interval over replicate means."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or not np.isfinite(values).any():
        return float("nan"), float("nan")
    n_rep, n_post = values.shape
    reps = rng.integers(0, n_rep, size=(n_boot, n_rep))
    posts = rng.integers(0, n_post, size=(n_boot, n_post))
    draws = np.array([np.nanmean(values[np.ix_(reps[b], posts[b])]) for b in range(n_boot)])
    boot = percentile_ci(draws)
    if n_rep < 2:
        return boot
    return wider(boot, t_interval(np.nanmean(values, axis=1)))
