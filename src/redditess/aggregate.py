"""Ensemble of the labelers' votes into one label per comment, and the golden subset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from redditess.config import AggregateConfig


def votes_matrix(labels: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per comment (post_id, comment_id), one nullable column per labeler."""
    wide = None
    for frame in labels:
        name = str(frame["labeler"].iloc[0]) if len(frame) else None
        if name is None:
            continue
        part = frame[["post_id", "comment_id", "label"]].rename(columns={"label": name})
        wide = part if wide is None else wide.merge(part, on=["post_id", "comment_id"], how="outer")
    if wide is None:
        raise ValueError("no labels to aggregate")
    return wide.sort_values(["post_id", "comment_id"]).reset_index(drop=True)


def aggregate(wide: pd.DataFrame, cfg: AggregateConfig) -> pd.DataFrame:
    missing = [n for n in cfg.precedence if n not in wide.columns]
    if missing:
        raise ValueError(f"aggregate.precedence names labelers with no labels: {missing}")
    votes = wide[cfg.precedence].astype("float64").to_numpy()  # NaN = abstain
    voted = ~np.isnan(votes)
    n_votes = voted.sum(axis=1)
    n_eff = np.nansum(votes, axis=1)
    n_ineff = n_votes - n_eff
    if cfg.method == "paper":
        first = np.where(voted.any(axis=1), voted.argmax(axis=1), -1)
        label = np.array([votes[i, j] if j >= 0 else np.nan for i, j in enumerate(first)])
    else:
        label = np.where(n_eff > n_ineff, 1.0, np.where(n_ineff > n_eff, 0.0, np.nan))
    golden = (n_votes >= cfg.golden_min_votes) & ((n_eff == n_votes) | (n_ineff == n_votes))
    out = wide[["post_id", "comment_id"]].copy()
    for name in cfg.precedence:
        out[f"vote_{name}"] = wide[name].astype("Int8")
    out["n_votes"] = n_votes.astype("int64")
    out["n_effective"] = n_eff.astype("int64")
    out["label"] = pd.array([None if np.isnan(v) else int(v) for v in label], dtype="Int8")
    out["golden"] = golden
    return out


def summary(ens: pd.DataFrame) -> dict[str, float]:
    labeled = ens["label"].notna()
    return {
        "comments": int(len(ens)),
        "labeled": int(labeled.sum()),
        "coverage": float(labeled.mean()) if len(ens) else 0.0,
        "effective_rate": float(ens.loc[labeled, "label"].astype(float).mean()) if labeled.any() else 0.0,
        "golden": int(ens["golden"].sum()),
        "golden_effective": int((ens["golden"] & (ens["label"] == 1)).sum()),
        "golden_ineffective": int((ens["golden"] & (ens["label"] == 0)).sum()),
    }
