"""Validity of the labels against a known truth: the demo simulator's hidden effectiveness.

Real data has no such truth (its validity check is the human annotation round trip in
``redditess.agreement``); on the demo it makes the label ensemble falsifiable: a labeler or an
aggregation rule that does not recover the effectiveness the simulator planted shows a low κ here,
whatever the labelers' agreement with each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def read_truth(path: Path) -> pd.DataFrame:
    """``comment_id, effective`` rows of the simulator's truth (empty for real data), from the
    ``truth.parquet`` collect writes (read by :func:`redditess.io.read_truth`)."""
    from redditess.io import read_truth as read_raw_truth

    frame = read_raw_truth(path)[["comment_id", "effective"]]
    return frame[frame.effective.notna()].astype({"effective": int}).reset_index(drop=True)


def random_labeler_kappa(truth: np.ndarray, rate: float, seed: int, draws: int = 200) -> float:
    """Mean κ against ``truth`` of ``draws`` seeded random labelers that call a comment effective with
    probability ``rate`` (the baseline a label ensemble must beat: about 0, whatever the base rate)."""
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(seed)
    kappas = [cohen_kappa_score(truth, (rng.random(len(truth)) < rate).astype(int)) for _ in range(draws)]
    return float(np.mean(kappas))


def truth_agreement(ens: pd.DataFrame, truth: pd.DataFrame, units: pd.DataFrame | None = None,
                    seed: int = 0) -> dict[str, float]:
    """κ, accuracy and balanced accuracy of the ensemble label and each labeler's vote against the
    truth, on the comments each one labeled, beside a random labeler's at the same effective rate
    (``baseline_random_truth_kappa_*``); plus coverage of the truth comments. With ``units``
    (comment_id, comment_body), also ``truth_words_spearman``: the Spearman correlation of a kept
    comment's length in words with its truth, which the testbed keeps near 0 (length must not decide
    effectiveness, or a word count passes for a judge)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score

    merged = ens.merge(truth, on="comment_id")
    out: dict[str, float] = {"truth_comments": int(len(merged))}
    if merged.empty:
        return out
    if units is not None:
        words = merged.merge(units[["comment_id", "comment_body"]], on="comment_id")
        n_words = words.comment_body.str.split().str.len()
        if len(words) > 2 and words.effective.nunique() == 2:
            out["truth_words_spearman"] = float(spearmanr(n_words, words.effective).statistic)
    for col in ["label"] + sorted(c for c in merged.columns if c.startswith("vote_")):
        name = col.removeprefix("vote_")
        voted = merged[merged[col].notna()]
        out[f"truth_coverage_{name}"] = float(len(voted) / len(merged))
        if voted.empty or voted.effective.nunique() < 2:
            continue
        y, p = voted.effective.to_numpy(), voted[col].astype(int).to_numpy()
        out[f"truth_kappa_{name}"] = float(cohen_kappa_score(y, p)) if len(np.unique(p)) > 1 else 0.0
        out[f"baseline_random_truth_kappa_{name}"] = random_labeler_kappa(y, float(p.mean()), seed)
        out[f"truth_accuracy_{name}"] = float((y == p).mean())
        out[f"truth_balanced_accuracy_{name}"] = float(balanced_accuracy_score(y, p))
    return out


def vote_evidence(votes: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Per labeler with an ``evidence`` column: how many votes of each class each rule cast
    (``votes_<labeler>_<evidence>_<effective|ineffective>``): on real data, where no truth exists,
    how much of "ineffective" rests on explicit evidence and how much on sentiment."""
    out: dict[str, int] = {}
    for name, frame in sorted(votes.items()):
        cast = frame[frame["label"].notna()]
        for (rule, label), n in cast.groupby([cast["evidence"].fillna("none"), cast["label"].astype(int)]).size().items():
            out[f"votes_{name}_{rule}_{'effective' if label == 1 else 'ineffective'}"] = int(n)
    return out


def ineffective_recall(ens: pd.DataFrame, truth: pd.DataFrame, votes: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Of the comments the truth calls ineffective, the share each labeler and the ensemble label
    (``label``) voted ineffective (``truth_not_recall_<name>``), split by the rule that cast the vote
    (``..._<evidence>``, labelers with an ``evidence`` column), the share abstained on
    (``truth_not_abstained_<name>``: never counted as "not") and the share voted effective."""
    merged = ens.merge(truth, on="comment_id")
    nots = merged[merged.effective == 0]
    out: dict[str, float] = {"truth_not_comments": int(len(nots))}
    if nots.empty:
        return out
    for col in ["label"] + sorted(c for c in merged.columns if c.startswith("vote_")):
        name = col.removeprefix("vote_")
        vote = nots[col].astype("float64")
        out[f"truth_not_recall_{name}"] = float((vote == 0).mean())
        out[f"truth_not_abstained_{name}"] = float(vote.isna().mean())
        out[f"truth_not_voted_effective_{name}"] = float((vote == 1).mean())
        if name in votes and "evidence" in votes[name].columns:
            rule = nots[["comment_id"]].merge(votes[name][["comment_id", "evidence"]], on="comment_id", how="left")["evidence"]
            for kind in sorted(set(rule[(vote == 0).to_numpy()].dropna())):
                out[f"truth_not_recall_{name}_{kind}"] = float(((vote == 0).to_numpy() & (rule == kind).to_numpy()).mean())
    return out
