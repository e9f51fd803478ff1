"""Which signals a source could observe, per source and era (year of the post).

Public dumps keep the text of a record's first fetch only (Arctic Shift since 2023), so post edits
are invisible in those eras; dyadic threads (post -> comment -> OP reply) carry no score worth
reading. A labeler whose signal the data never shows would abstain on everything; the aggregate
stage excludes it instead (see :data:`LABELER_SIGNAL`), and the data card records what was seen.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

LABELER_SIGNAL = {"general_feedback": "edits", "community": "scores", "op_reply": "op_replies"}
"""The signal each offline labeler reads: the OP's post edit / own top-level feedback, the comment
score, the OP's replies. Labelers not listed (LLM judges) read the text and are always observable."""


def observed_signals(units: pd.DataFrame) -> dict[str, bool]:
    """Whether the units show each signal at all: edits (an edit text or OP top-level feedback on
    some post), scores (more than one distinct comment score), op_replies (some OP reply)."""
    scores = units["comment_score"].dropna() if "comment_score" in units else pd.Series(dtype="float64")
    edits = units["post_edit"].fillna("").astype(str).str.strip().ne("") if "post_edit" in units else pd.Series([], dtype=bool)
    general = units["general_feedback"].map(len).gt(0) if "general_feedback" in units else pd.Series([], dtype=bool)
    return {
        "edits": bool(edits.any() or general.any()),
        # a score observed everywhere as the same value (e.g. 1, the author's own vote) says nothing
        "scores": bool(scores.nunique() > 1),
        "op_replies": bool(units["op_replies"].map(len).gt(0).any()) if "op_replies" in units else False,
    }


def observable_labelers(units: pd.DataFrame, names: list[str]) -> dict[str, bool]:
    """Per labeler: whether the units show the signal it reads (judges: always)."""
    signals = observed_signals(units)
    return {n: signals[LABELER_SIGNAL[n]] if n in LABELER_SIGNAL else True for n in names}


def _era(ts) -> str:
    return "unknown" if ts is None or pd.isna(ts) else str(dt.datetime.fromtimestamp(int(ts), dt.UTC).year)


def per_era(units: pd.DataFrame, source: str, created: pd.Series) -> list[dict]:
    """One row per (source, era): units, and whether edits, scores and OP replies were observed.
    ``created`` maps post_id to the post's creation time."""
    eras = units["post_id"].map(created).map(_era)
    rows = []
    for era, group in units.groupby(eras, sort=True):
        rows.append({"source": source, "era": era, "units": len(group), **observed_signals(group)})
    return rows
