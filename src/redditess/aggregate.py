"""Ensemble of the labelers' votes into one label per comment, each labeler's reliability, and the
golden subset.

Methods: ``paper`` (the first non-abstaining labeler in the precedence order decides),
``majority`` (ties abstain), ``weighted`` (votes weighted by the log-odds of each labeler's
Dawid-Skene accuracy), ``dawid_skene`` (crowd-kit's EM estimate of the true label).

Every method counts *voters*: each labeler, except that ``merge_judges`` can fold LLM judges of one
model family, or whose errors correlate, into one voter first. Dawid-Skene assumes voters err
independently; two copies of one judge would otherwise outvote everything and drag the other
labelers' estimated reliabilities down.

No method labels nothing silently. Reliabilities come from agreement between voters, so a voter
that never votes next to another one (on dyadic real threads only the OP-reply labeler can vote)
has none: every method then falls back to that voter's own votes on the comments it alone voted
on (``paper`` and ``majority`` do so by their rule; ``weighted`` counts it with weight 1 instead of
the log-odds it has not got; ``dawid_skene``, whose EM cannot separate one voter's errors from the
truth, takes its vote as the posterior). The same holds when every vote is of one class (Dawid-Skene
cannot run: the weights fall back to 1, the posterior to the share of votes for "effective").
:func:`fallback_notes` says which happened; and a method that still labels none of the comments
somebody voted on stops with one line naming the method and the reason.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from redditess.config import AggregateConfig
from redditess.runtime import InputError


def votes_matrix(labels: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per comment (post_id, comment_id), one nullable column per labeler."""
    if not labels:
        raise InputError("aggregate: data/votes/ holds no vote files (run the label stages first)")
    wide = None
    for frame in labels:
        if not len(frame):
            continue
        name = str(frame["labeler"].iloc[0])
        part = frame[["post_id", "comment_id", "label"]].rename(columns={"label": name})
        wide = part if wide is None else wide.merge(part, on=["post_id", "comment_id"], how="outer")
    if wide is None:
        raise InputError(f"aggregate: the {len(labels)} vote files under data/votes/ hold 0 rows: "
                         "data/threads.parquet has no units (see reports/threads.md)")
    return wide.sort_values(["post_id", "comment_id"]).reset_index(drop=True)


def labeler_order(wide: pd.DataFrame, precedence: list[str]) -> list[str]:
    """The precedence list, then any other labeler (e.g. a judge not listed) by name."""
    present = [c for c in wide.columns if c not in ("post_id", "comment_id")]
    missing = [n for n in precedence if n not in present]
    if missing:
        raise InputError(f"aggregate.precedence names labelers with no labels: {missing} (have {sorted(present)})")
    return list(precedence) + sorted(set(present) - set(precedence))


# Dawid-Skene's EM sums in an order numpy picks per CPU (SIMD width): two machines' posteriors differed
# in the last bit (0.8937129242128298 vs ...28300), so the data stages' hashes did. Rounded to 1e-9, a
# value changes only if it lies within a few ULPs of a rounding boundary (odds about 1e-7 per value).
DS_DECIMALS = 9


def dawid_skene(votes: np.ndarray, names: list[str], seed: int) -> tuple[np.ndarray, dict[str, dict[str, float]]]:
    """(P(effective) per comment, per-labeler sensitivity/specificity) by crowd-kit's Dawid-Skene,
    rounded to ``DS_DECIMALS`` so that they are the same on every machine. Comments nobody voted on
    get NaN."""
    from crowdkit.aggregation import DawidSkene

    rows = [(i, names[j], int(votes[i, j])) for i in range(votes.shape[0]) for j in range(votes.shape[1])
            if not np.isnan(votes[i, j])]
    posterior = np.full(votes.shape[0], np.nan)
    reliability = {n: {"sensitivity": float("nan"), "specificity": float("nan")} for n in names}
    if not rows or len({r[2] for r in rows}) < 2:
        return posterior, reliability
    np.random.seed(seed % 2**32)
    ds = DawidSkene(n_iter=100).fit(pd.DataFrame(rows, columns=["task", "worker", "label"]))
    probas = ds.probas_
    if 1 in probas.columns:
        posterior[probas.index.to_numpy(int)] = np.round(probas[1].to_numpy(float), DS_DECIMALS)
    errors = ds.errors_  # index (worker, observed label), columns true label: P(observed | true)
    for j, n in enumerate(names):
        # a labeler that never voted next to another one has no reliability to estimate
        if not (~np.isnan(votes[:, j]) & ((~np.isnan(votes)).sum(axis=1) >= 2)).any():
            continue
        if n in errors.index.get_level_values(0):
            e = errors.loc[n]
            reliability[n] = {
                "sensitivity": round(float(e.loc[1, 1]), DS_DECIMALS) if 1 in e.index and 1 in e.columns else float("nan"),
                "specificity": round(float(e.loc[0, 0]), DS_DECIMALS) if 0 in e.index and 0 in e.columns else float("nan")}
    return posterior, reliability


def judge_groups(votes: np.ndarray, names: list[str], cfg: AggregateConfig,
                 families: dict[str, str]) -> list[list[str]]:
    """The voters: lists of labelers voting as one, in ``names`` order. ``families`` maps a judge's
    labeler (``llm_<name>``) to its model family; judges not in it are their own family."""
    from redditess.agreement import error_correlation, is_judge

    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    judges = [j for j, n in enumerate(names) if is_judge(n)]
    for a, b in itertools.combinations(judges, 2):
        if cfg.merge_judges == "family":
            merge = families.get(names[a], names[a]) == families.get(names[b], names[b])
        elif cfg.merge_judges == "correlated":
            corr, _ = error_correlation(votes, a, b)
            merge = not np.isnan(corr) and corr > cfg.merge_correlation
        else:
            merge = False
        if merge:
            parent[root(names[b])] = root(names[a])
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    return list(groups.values())


def voter_name(group: list[str]) -> str:
    return group[0] if len(group) == 1 else "+".join(group)


def voters(wide: pd.DataFrame, cfg: AggregateConfig, families: dict[str, str] | None = None) -> list[list[str]]:
    """The voters of :func:`aggregate`, as groups of labelers in precedence order."""
    labelers = labeler_order(wide, cfg.precedence)
    return judge_groups(wide[labelers].astype("float64").to_numpy(), labelers, cfg, families or {})


def _estimated(rel: dict[str, float]) -> bool:
    return not (np.isnan(rel["sensitivity"]) and np.isnan(rel["specificity"]))


def fallback_notes(ens: pd.DataFrame) -> dict[str, float]:
    """What :func:`aggregate` fell back to (``ens.attrs``): the one voter that could vote, and how
    many labels came from voters without an estimated reliability."""
    return dict(ens.attrs.get("fallback", {}))


def aggregate(wide: pd.DataFrame, cfg: AggregateConfig, seed: int = 0,
              families: dict[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Return (ensemble table with every labeler's vote, reliability per voter); see the module
    docstring for the single-voter fallback (recorded in ``ens.attrs['fallback']``)."""
    from redditess.agreement import majority

    labelers = labeler_order(wide, cfg.precedence)
    every = wide[labelers].astype("float64").to_numpy()  # NaN = abstain
    groups = voters(wide, cfg, families)
    names = [voter_name(g) for g in groups]
    votes = np.column_stack([majority(every[:, [labelers.index(n) for n in g]]) if len(g) > 1
                             else every[:, labelers.index(g[0])] for g in groups])
    voted = ~np.isnan(votes)
    n_votes = voted.sum(axis=1)
    n_eff = np.nansum(votes, axis=1)
    n_ineff = n_votes - n_eff
    posterior, reliability = dawid_skene(votes, names, seed)
    active = [j for j in range(len(names)) if voted[:, j].any()]
    unestimated = np.array([not _estimated(reliability[n]) for n in names], dtype=bool)
    # comments whose every vote comes from voters without a reliability: they fall back to those votes
    solo = (n_votes > 0) & ~(voted & ~unestimated).any(axis=1)
    if cfg.method == "paper":
        first = np.where(voted.any(axis=1), voted.argmax(axis=1), -1)
        label = np.array([votes[i, j] if j >= 0 else np.nan for i, j in enumerate(first)])
    elif cfg.method == "majority":
        label = np.where(n_eff > n_ineff, 1.0, np.where(n_ineff > n_eff, 0.0, np.nan))
    elif cfg.method == "weighted":
        acc = np.array([np.nanmean([reliability[n]["sensitivity"], reliability[n]["specificity"]]) if _estimated(reliability[n])
                        else np.nan for n in names])
        weight = np.log(np.clip(acc, 1e-3, 1 - 1e-3) / (1 - np.clip(acc, 1e-3, 1 - 1e-3)))
        weight = np.where(np.isnan(weight), 1.0, weight)  # no reliability: its own vote, unweighted
        margin = np.nansum(np.where(voted, (2 * np.nan_to_num(votes) - 1) * weight, 0.0), axis=1)
        label = np.where(n_votes == 0, np.nan, np.where(margin > 0, 1.0, np.where(margin < 0, 0.0, np.nan)))
    else:  # dawid_skene
        # no posterior where EM could not run or saw the comment's voters alone: the share of votes
        posterior = np.where(np.isnan(posterior) & (n_votes > 0), n_eff / np.maximum(n_votes, 1), posterior)
        label = np.where(np.isnan(posterior), np.nan, (posterior >= 0.5).astype(float))
    if (n_votes > 0).any() and np.isnan(label[n_votes > 0]).all():
        raise InputError(f"aggregate.method {cfg.method}: labels none of the {int((n_votes > 0).sum())} comments that "
                         f"{', '.join(names[j] for j in active)} voted on (every vote tied or weighed 0); use paper or majority")
    unanimous = (n_eff == n_votes) | (n_ineff == n_votes)
    confident = np.abs(np.nan_to_num(posterior, nan=0.5) - 0.5) * 2 >= cfg.golden_min_confidence
    golden = (n_votes >= cfg.golden_min_votes) & unanimous & confident & ~np.isnan(label)
    out = wide[["post_id", "comment_id"]].copy()
    for name in labelers:
        out[f"vote_{name}"] = wide[name].astype("Int8")
    out["n_votes"] = n_votes.astype("int64")
    out["n_effective"] = n_eff.astype("int64")
    out["ds_posterior"] = posterior
    out["label"] = pd.array([None if np.isnan(v) else int(v) for v in label], dtype="Int8")
    out["golden"] = golden
    fallback: dict[str, float] = {"voters_active": len(active),
                                  "labels_from_voters_without_reliability": int((solo & ~np.isnan(label)).sum())}
    if len(active) == 1:
        fallback[f"single_voter_{names[active[0]]}"] = 1
    out.attrs["fallback"] = fallback
    return out, reliability


def summary(ens: pd.DataFrame, reliability: dict[str, dict[str, float]] | None = None,
            groups: list[list[str]] | None = None) -> dict[str, float]:
    labeled = ens["label"].notna()
    out = {
        "comments": int(len(ens)),
        "labeled": int(labeled.sum()),
        "coverage": float(labeled.mean()) if len(ens) else 0.0,
        "effective_rate": float(ens.loc[labeled, "label"].astype(float).mean()) if labeled.any() else 0.0,
        "golden": int(ens["golden"].sum()),
        "golden_effective": int((ens["golden"] & (ens["label"] == 1)).sum()),
        "golden_ineffective": int((ens["golden"] & (ens["label"] == 0)).sum()),
    }
    if groups is not None:
        out["voters"] = len(groups)
        out["labelers_merged"] = sum(len(g) for g in groups if len(g) > 1)
        for g in groups:
            if len(g) > 1:  # says which labelers voted as one
                out[f"merged_voter_{voter_name(g)}"] = len(g)
    for name, rel in sorted((reliability or {}).items()):
        if np.isnan(rel["sensitivity"]) and np.isnan(rel["specificity"]):
            continue  # never voted next to another labeler: nothing to report
        out[f"sensitivity_{name}"] = rel["sensitivity"]
        out[f"specificity_{name}"] = rel["specificity"]
    return out
