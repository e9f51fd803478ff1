"""Stage aggregate: the ensemble label of every comment, each labeler's reliability, the golden subset.

    dvc repro aggregate        # or: python stages/aggregate.py

Reads every labeler's votes under ``data/votes/`` (the offline labelers and any LLM judges); writes
``data/labels/ensemble.parquet`` (post_id, comment_id, label, golden, each labeler's vote, the
Dawid-Skene posterior) and ``metrics/aggregate.json`` (coverage, rates, per-labeler sensitivity and
specificity estimated by Dawid-Skene, per voter: with ``aggregate.merge_judges`` the LLM judges of
one family, or whose errors correlate, vote as one, and the metrics name the merged voters; whether
each labeler's signal was observable; with the demo source, κ/accuracy of the ensemble and of each
labeler against the simulator's hidden truth, and of the truly ineffective comments the share each
labeler voted "ineffective", by the rule that cast the vote, apart from the share it abstained on;
on any data, how many votes of each class each rule of the offline labelers cast).

A labeler whose signal the data never shows (no edits, no scores worth reading, no OP reply; see
``redditess.observability``) is excluded from the ensemble rather than counted as a labeler that
abstained on everything; a labeler that never voted next to another one gets no reliability, and
every method falls back to its votes (``redditess.aggregate``; ``voters_active``,
``single_voter_<name>`` and ``labels_from_voters_without_reliability`` in the metrics say so).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from redditess.aggregate import aggregate, fallback_notes, summary, voters, votes_matrix
from redditess.config import load_params
from redditess.guards import abstention_line
from redditess.io import read_table, write_metrics, write_table
from redditess.observability import LABELER_SIGNAL, observable_labelers
from redditess.runtime import InputError, derive_seed, stage
from redditess.validity import ineffective_recall, read_truth, truth_agreement, vote_evidence

log = logging.getLogger("aggregate")


@stage
def main() -> None:
    params = load_params()
    files = sorted(Path("data/votes").glob("*.parquet"))
    labels = [read_table(f, ["post_id", "comment_id", "labeler", "label"]) for f in files]
    # the rule behind each vote (offline labelers): "ineffective" from explicit evidence vs sentiment
    evidence = {str(f["labeler"].iloc[0]): f for f in labels if "evidence" in f.columns and len(f)}
    families = {f"llm_{j.name}": j.family or j.model for j in params.label.judges}
    wide = votes_matrix(labels)
    names = [c for c in wide.columns if c not in ("post_id", "comment_id")]
    units = read_table("data/threads.parquet", ["post_id", "comment_id"])
    observable = observable_labelers(units, names)
    excluded = sorted(n for n, ok in observable.items() if not ok)
    for name in excluded:
        log.warning("excluding %s: the data shows no %s signal", name, LABELER_SIGNAL[name])
    if len(excluded) == len(names):
        raise InputError(f"aggregate: no labeler's signal is observable in data/threads.parquet (excluded {excluded})")
    wide = wide.drop(columns=excluded)
    cfg = dataclasses.replace(params.aggregate, precedence=[n for n in params.aggregate.precedence if n not in excluded])
    kept = [n for n in names if n not in excluded]
    if not wide[kept].notna().any(axis=None):
        shares = {n: float(wide[n].isna().mean()) for n in kept}
        raise InputError(f"aggregate: every labeler abstained on all {len(wide)} comments "
                         f"({abstention_line(shares)} abstained); no comment can be labeled")
    ens, reliability = aggregate(wide, cfg, derive_seed(params.seed, "aggregate"), families)
    notes = fallback_notes(ens)
    single = [k.removeprefix("single_voter_") for k in notes if k.startswith("single_voter_")]
    if single:
        log.warning("aggregate.method %s: only %s can vote, so every label is its vote (no other voter to estimate "
                    "its reliability from)", cfg.method, single[0])
    elif notes["labels_from_voters_without_reliability"]:
        log.warning("aggregate.method %s: %d labels come from voters that never voted next to another one (no reliability)",
                    cfg.method, notes["labels_from_voters_without_reliability"])
    write_table("data/labels/ensemble.parquet", ens, ["post_id", "comment_id"])
    metrics = summary(ens, reliability, voters(wide, cfg, families))
    metrics.update(notes)
    metrics.update({f"observable_{n}": int(ok) for n, ok in sorted(observable.items())})
    metrics.update({f"abstain_share_{n}": float(wide[n].isna().mean()) for n in kept})
    metrics.update(vote_evidence({n: f for n, f in evidence.items() if n in kept}))
    # The demo simulator's hidden truth (empty for real data) makes the labels falsifiable.
    truth = read_truth(Path("data/raw/truth.parquet"))
    bodies = read_table("data/threads.parquet", ["comment_id", "comment_body"]) if len(truth) else None
    metrics.update(truth_agreement(ens, truth, bodies, derive_seed(params.seed, "aggregate:random_labeler")))
    metrics.update(ineffective_recall(ens, truth, evidence))
    write_metrics("metrics/aggregate.json", metrics)


if __name__ == "__main__":
    main()
