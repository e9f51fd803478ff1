"""The study's offline labelers. Each maps every unit to effective (1), ineffective (0) or abstain.

* ``general_feedback`` (post level): sentiment of the OP's post edit and top-level replies; the
  verdict applies to every comment of the post.
* ``community``: the comment's score against two thresholds.
* ``op_reply``: what the OP's replies say about the comment. Each reply votes by the first of its
  pattern lists that matches (rejection, gratitude, plan to act on it, commiseration, agreement,
  follow-up question; each list and each vote a param of ``label.op_reply``) or, failing those, by the
  sentiment of its sentences that speak to the commenter. A reply that only goes on about the OP's
  own distress, or asks a follow-up question, is no verdict on the comment and abstains. The
  replies' votes are combined with a decay so one late reply cannot flip the label.

Each returns a frame with ``post_id, comment_id, labeler, label, score, evidence`` (label nullable
Int8, <NA> = abstain; score = the signal the label was thresholded from; evidence = the rule that
decided: ``score``, ``sentiment`` or, for op_reply, the pattern list, <NA> when it abstained), so the
aggregate stage can report how many "ineffective" votes come from explicit evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from redditess.config import CommunityConfig, GeneralFeedbackConfig, LabelConfig, OpReplyConfig
from redditess.runtime import InputError

LABEL_COLUMNS = ["post_id", "comment_id", "labeler", "label", "score", "evidence"]
PATTERN_KINDS = ("rejection", "gratitude", "plan", "commiseration", "agreement", "question")
"""The op_reply pattern lists, in the order they are tried."""


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER compound score in [-1, 1]."""
    return float(_vader().polarity_scores(text)["compound"])


def _frame(units: pd.DataFrame, name: str, labels: list, scores: list, evidence: list | str) -> pd.DataFrame:
    if isinstance(evidence, str):  # one kind of evidence for every vote cast
        evidence = [None if lab is None else evidence for lab in labels]
    return pd.DataFrame(
        {
            "post_id": units["post_id"].to_numpy(),
            "comment_id": units["comment_id"].to_numpy(),
            "labeler": name,
            "label": pd.array(labels, dtype="Int8"),
            "score": np.asarray(scores, dtype="float64"),
            "evidence": pd.array(evidence, dtype="string"),
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
    return _frame(units, "general_feedback", labels, scores, "sentiment")


def community(units: pd.DataFrame, cfg: CommunityConfig) -> pd.DataFrame:
    scores = [np.nan if pd.isna(s) else float(s) for s in units.comment_score]
    labels = [_threshold(s, cfg.effective_min_score, cfg.ineffective_max_score) for s in scores]
    return _frame(units, "community", labels, scores, "score")


_VOTE = {"effective": 1, "ineffective": 0, "abstain": None}


def _pattern(patterns: list[str]) -> re.Pattern | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I | re.M) if patterns else None


@lru_cache(maxsize=2)
def _transformer_sentiment(name: str, revision: str | None) -> Callable[[str], float]:
    """Compound P(positive) - P(negative) of a Hugging Face sentiment classifier: a local folder, or a
    hub name at a pinned commit (fetched only where downloads are allowed: ``redditess.hub``)."""
    from redditess.hub import check_hub_model

    check_hub_model(name, param="label.op_reply.sentiment_model", revision=revision,
                    revision_param="label.op_reply.sentiment_revision")
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name, revision=revision)
    model = AutoModelForSequenceClassification.from_pretrained(name, revision=revision).eval()
    names = {i: str(n).lower() for i, n in model.config.id2label.items()}
    pos = [i for i, n in names.items() if n.startswith("pos")]
    neg = [i for i, n in names.items() if n.startswith("neg")]
    if len(pos) != 1 or len(neg) != 1:
        raise InputError(f"{name}: id2label {model.config.id2label} names no single positive and negative class")

    def score(text: str) -> float:
        with torch.no_grad():
            enc = tok(text, truncation=True, max_length=256, return_tensors="pt")
            p = torch.softmax(model(**enc).logits[0].float(), dim=-1)
        return float(p[pos[0]] - p[neg[0]])

    return score


def _sentences(text: str) -> list[str]:
    return [t for t in re.split(r"(?<=[.!?])\s+|\n+", text) if t.strip()]


def addressed_text(text: str, cfg: OpReplyConfig, pats: dict) -> str:
    """The sentences of ``text`` that ``sentiment_scope`` reads: all of it, or (``addressed``) the
    sentences that speak to the commenter or about the comment and not about the OP."""
    if cfg.sentiment_scope == "all":
        return text
    if cfg.sentiment_scope == "none" or pats["addressed"] is None:
        return ""
    keep = [t for t in _sentences(text) if pats["addressed"].search(t) and not (pats["self"] and pats["self"].search(t))]
    return " ".join(keep)


def reply_vote(text: str, cfg: OpReplyConfig, polarity: Callable[[str], float], pats: dict) -> tuple[int | None, str | None]:
    """One OP reply's vote and the rule that decided it (a pattern list's name, ``sentiment``, or None
    when nothing spoke to the comment). Order: rejection, gratitude, plan, commiseration, agreement,
    follow-up question; then the sentiment of the sentences ``sentiment_scope`` reads (at or below
    ``negative_threshold`` votes ineffective; anything else abstains)."""
    def hit(name):
        return pats[name] is not None and pats[name].search(text) is not None

    if hit("rejection"):
        return 0, "rejection"
    if hit("gratitude"):
        if cfg.gratitude_overrides_sentiment or polarity(text) >= cfg.positive_threshold:
            return 1, "gratitude"
        return None, "gratitude"
    for kind in ("plan", "commiseration", "agreement", "question"):
        if hit(kind):
            return _VOTE[getattr(cfg, f"{kind}_vote")], kind
    said = addressed_text(text, cfg, pats)
    if said and polarity(said) <= cfg.negative_threshold:
        return 0, "sentiment"
    return None, None


def combine_votes(votes: list[tuple[int | None, float]], decay: float) -> tuple[int | None, float]:
    """Weighted vote over a comment's OP replies in thread order: the k-th cast vote weighs
    ``decay**k`` times its own weight; the sign of the sum decides, a tie goes to the first vote.
    Returns (label, score = weighted mean of +1/-1 in [-1, 1], NaN when nothing was cast)."""
    cast = [(v, w) for v, w in votes if v is not None]
    if not cast:
        return None, np.nan
    weights = decay ** np.arange(len(cast)) * np.asarray([w for _, w in cast])
    signed = np.where(np.asarray([v for v, _ in cast]) == 1, 1.0, -1.0)
    total = float(np.dot(weights, signed))
    score = total / float(weights.sum())
    if abs(total) < 1e-12:
        return cast[0][0], score
    return (1 if total > 0 else 0), score


def op_reply(units: pd.DataFrame, cfg: OpReplyConfig) -> pd.DataFrame:
    """Per comment: each of the OP's replies votes (see :func:`reply_vote`), and the votes are
    combined by :func:`combine_votes`; no reply, or no reply that voted, abstains. ``evidence`` is the
    rule of the first reply whose vote agrees with the label."""
    if not 0 < cfg.reply_decay <= 1:
        raise InputError(f"params.yaml: label.op_reply.reply_decay must be in (0, 1], got {cfg.reply_decay}")
    if not 0 < cfg.sentiment_weight <= 1:
        raise InputError(f"params.yaml: label.op_reply.sentiment_weight must be in (0, 1], got {cfg.sentiment_weight}")
    pats = {name: _pattern(getattr(cfg, f"{name}_patterns")) for name in (*PATTERN_KINDS, "addressed", "self")}
    polarity = _transformer_sentiment(cfg.sentiment_model, cfg.sentiment_revision) if cfg.sentiment_model else sentiment
    labels, scores, evidence = [], [], []
    for replies in units.op_replies:
        votes, rules = [], []
        for text in (r.strip() for r in replies):
            if text:
                vote, rule = reply_vote(text, cfg, polarity, pats)
                votes.append((vote, cfg.sentiment_weight if rule == "sentiment" else 1.0))
                rules.append(rule)
        label, score = combine_votes(votes, cfg.reply_decay)
        labels.append(label)
        scores.append(score)
        evidence.append(None if label is None else next(r for (v, _), r in zip(votes, rules, strict=True) if v == label))
    return _frame(units, "op_reply", labels, scores, evidence)


OFFLINE_LABELERS: dict[str, Callable[[pd.DataFrame, LabelConfig], pd.DataFrame]] = {
    "general_feedback": lambda u, c: general_feedback(u, c.general_feedback),
    "community": lambda u, c: community(u, c.community),
    "op_reply": lambda u, c: op_reply(u, c.op_reply),
}
