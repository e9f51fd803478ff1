"""The study's offline labelers. Each maps every unit to effective (1), ineffective (0) or abstain.

* ``general_feedback`` (post level): sentiment of the OP's post edit and top-level replies; the
  verdict applies to every comment of the post.
* ``community``: the comment's score against two thresholds.
* ``op_reply``: the OP's replies to the comment: gratitude pattern x VADER sentiment.

Each returns a frame with ``post_id, comment_id, labeler, label, score`` (label nullable Int8,
<NA> = abstain; score = the signal the label was thresholded from).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from redditess.config import CommunityConfig, GeneralFeedbackConfig, LabelConfig, OpReplyConfig

LABEL_COLUMNS = ["post_id", "comment_id", "labeler", "label", "score"]


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound score in [-1, 1]."""
    return float(_vader().polarity_scores(text)["compound"])


def _frame(units: pd.DataFrame, name: str, labels: list, scores: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "post_id": units["post_id"].to_numpy(),
            "comment_id": units["comment_id"].to_numpy(),
            "labeler": name,
            "label": pd.array(labels, dtype="Int8"),
            "score": np.asarray(scores, dtype="float64"),
        },
        columns=LABEL_COLUMNS,
    )


def _threshold(value: float | None, hi: float, lo: float):
    if value is None or np.isnan(value):
        return None
    return 1 if value >= hi else 0 if value <= lo else None


def general_feedback(units: pd.DataFrame, cfg: GeneralFeedbackConfig) -> pd.DataFrame:
    labels, scores = [], []
    cache: dict[str, float] = {}
    for post_id, edit, general in zip(units.post_id, units.post_edit, units.general_feedback, strict=True):
        if post_id not in cache:
            text = " ".join([edit or "", *list(general)]).strip()
            cache[post_id] = sentiment(text) if text else np.nan
        s = cache[post_id]
        scores.append(s)
        labels.append(_threshold(s, cfg.positive_threshold, cfg.negative_threshold))
    return _frame(units, "general_feedback", labels, scores)


def community(units: pd.DataFrame, cfg: CommunityConfig) -> pd.DataFrame:
    scores = [np.nan if pd.isna(s) else float(s) for s in units.comment_score]
    labels = [_threshold(s, cfg.effective_min_score, cfg.ineffective_max_score) for s in scores]
    return _frame(units, "community", labels, scores)


def op_reply(units: pd.DataFrame, cfg: OpReplyConfig) -> pd.DataFrame:
    """Effective when the OP thanks the commenter in a positive reply; ineffective when the OP's
    reply is negative or rejects the comment, without thanks; abstain when the OP did not reply
    or was neutral."""
    gratitude = re.compile("|".join(f"(?:{p})" for p in cfg.gratitude_patterns), re.I)
    rejection = re.compile("|".join(f"(?:{p})" for p in cfg.rejection_patterns), re.I)
    labels, scores = [], []
    for replies in units.op_replies:
        text = " ".join(replies).strip()
        if not text:
            labels.append(None)
            scores.append(np.nan)
            continue
        s = sentiment(text)
        thanked = bool(gratitude.search(text))
        scores.append(s)
        if thanked and s >= cfg.positive_threshold:
            labels.append(1)
        elif not thanked and (s <= cfg.negative_threshold or rejection.search(text)):
            labels.append(0)
        else:
            labels.append(None)
    return _frame(units, "op_reply", labels, scores)


OFFLINE_LABELERS: dict[str, Callable[[pd.DataFrame, LabelConfig], pd.DataFrame]] = {
    "general_feedback": lambda u, c: general_feedback(u, c.general_feedback),
    "community": lambda u, c: community(u, c.community),
    "op_reply": lambda u, c: op_reply(u, c.op_reply),
}
