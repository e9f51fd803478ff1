"""Trivial baselines every claim must beat, computed on the same test sets as the models.

A bound such as "F1 ≥ 0.75" means nothing if an always-"effective" classifier reaches it, and a
judge's balanced accuracy of 0.67 means little if counting words gives 0.67. So each stage that
produces a claimed figure also produces the figure of the trivial pipeline it must beat, on the same
rows, and the claims file names it (``baseline:`` in ``artifact/claims/*.yaml``):

* **constant / majority** classifier — always the training split's majority label;
* **word count** — the comment's length as a score (ROC-AUC), and thresholded at the length that
  best separates the training split (balanced accuracy, macro-F1, the false-positive rate at a
  judge's own true-positive rate);
* **random labelers** at the observed base rates — their expected κ (0) and positive/negative
  agreement (which differ whenever the base rate is not ½: two coin flips "agree more on effective"
  when most comments are effective);
* **the longer answer wins** — a length-only reward on the same preference pairs;
* **policies that do nothing clever** (``stages/generate.py``): the most common sentence of the SFT
  targets for every post (``stock``), the longest SFT target for every post (``longest``), and
  best-of-N samples of SFT ranked by the reward model (``stages/best_of_n.py``).
"""

from __future__ import annotations

import numpy as np


def word_counts(texts) -> np.ndarray:
    return np.array([len(str(t).split()) for t in texts], dtype=float)


def fit_length_threshold(words: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
    """(threshold, direction) of the word-count rule that best separates ``labels`` (balanced
    accuracy): predict effective when ``direction * words >= direction * threshold``."""
    from sklearn.metrics import balanced_accuracy_score

    best = (-1.0, 0.0, 1)
    for direction in (1, -1):
        for thr in np.unique(words):
            pred = (direction * words >= direction * thr).astype(int)
            score = balanced_accuracy_score(labels, pred) if len(set(labels.tolist())) == 2 else 0.0
            if score > best[0] + 1e-12:
                best = (score, float(thr), direction)
    return best[1], best[2]


def rate_at(pred: np.ndarray, labels: np.ndarray, label: int) -> float:
    sel = labels == label
    return float(pred[sel].mean()) if sel.any() else float("nan")


def classifier_baselines(train_words: np.ndarray, train_labels: np.ndarray, test_words: np.ndarray,
                         test_labels: np.ndarray, clusters: np.ndarray, n_boot: int, rng: np.random.Generator,
                         judge_tpr: float | None = None, prefix: str = "baseline") -> dict[str, float]:
    """The constant (training majority) and word-count classifiers on the test rows: ROC-AUC (with
    a CI over posts), balanced accuracy, F1, macro-F1, and for the word count the false-positive
    rate at ``judge_tpr`` (the lowest length threshold reaching the judge's own true-positive rate)."""
    from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

    from redditess.stats import cluster_bootstrap_ci

    out: dict[str, float] = {}
    both = len(set(test_labels.tolist())) == 2
    majority = int(train_labels.mean() >= 0.5) if len(train_labels) else 1
    const = np.full(len(test_labels), majority)
    out[f"{prefix}_constant_label"] = majority
    out[f"{prefix}_constant_roc_auc"] = 0.5
    out[f"{prefix}_constant_balanced_accuracy"] = float(balanced_accuracy_score(test_labels, const)) if both else float("nan")
    out[f"{prefix}_constant_f1"] = float(f1_score(test_labels, const, zero_division=0))
    out[f"{prefix}_constant_f1_macro"] = float(f1_score(test_labels, const, average="macro", zero_division=0))
    thr, direction = fit_length_threshold(train_words, train_labels)
    pred = (direction * test_words >= direction * thr).astype(int)
    score = direction * test_words
    out[f"{prefix}_words_threshold"] = thr
    out[f"{prefix}_words_direction"] = direction
    if both:
        out[f"{prefix}_words_roc_auc"] = float(roc_auc_score(test_labels, score))
        out[f"{prefix}_words_roc_auc_ci_low"], out[f"{prefix}_words_roc_auc_ci_high"] = cluster_bootstrap_ci(
            lambda rows: roc_auc_score(test_labels[rows], score[rows]), clusters, n_boot, rng)
        out[f"{prefix}_words_balanced_accuracy"] = float(balanced_accuracy_score(test_labels, pred))
    out[f"{prefix}_words_f1"] = float(f1_score(test_labels, pred, zero_division=0))
    out[f"{prefix}_words_f1_macro"] = float(f1_score(test_labels, pred, average="macro", zero_division=0))
    out[f"{prefix}_words_false_positive_rate"] = rate_at(pred, test_labels, 0)
    if judge_tpr is not None and both and np.isfinite(judge_tpr):
        out[f"{prefix}_words_false_positive_rate_at_judge_tpr"] = fpr_at_tpr(score, test_labels, judge_tpr)
    return out


def paired_margin(model: np.ndarray, baseline: np.ndarray, stat, clusters: np.ndarray, n_boot: int,
                  rng: np.random.Generator, key: str) -> dict[str, float]:
    """``stat(model) - stat(baseline)`` on the same rows, with a 95% CI from resampling whole posts
    (``clusters``) once for both: the model beats the baseline when the CI's low end is above 0.
    ``stat(scores, rows)`` is e.g. a ROC-AUC or a mean; undefined resamples are skipped."""
    from redditess.stats import cluster_bootstrap_ci

    rows = np.arange(len(model))
    try:
        value = float(stat(model, rows) - stat(baseline, rows))
    except ValueError:  # one class only
        return {key: float("nan"), f"{key}_ci_low": float("nan"), f"{key}_ci_high": float("nan")}
    low, high = cluster_bootstrap_ci(lambda r: stat(model, r) - stat(baseline, r), clusters, n_boot, rng)
    return {key: value, f"{key}_ci_low": low, f"{key}_ci_high": high}


def beats_baselines(margins: dict[str, float], counts: dict[str, int]) -> tuple[int, str]:
    """(1 when every 95% CI low end of (model − baseline) in ``margins``, named by the baseline, is
    above 0, else 0; a one-line reason naming what was not cleared and the class or pair counts
    behind the figures, few of one class being the usual cause). Metrics hold numbers only: the
    flag goes in, the reason to the stage's log."""
    failed = [f"{name} (margin CI low {low:+.3f})" if np.isfinite(low) else f"{name} (margin undefined)"
              for name, low in margins.items() if not (np.isfinite(low) and low > 0)]
    counted = ", ".join(f"{k} {v}" for k, v in counts.items())
    head = f"does not beat {'; '.join(failed)}" if failed else f"beats {', '.join(margins)}"
    return int(not failed), f"{head} ({counted})"


def fpr_at_tpr(score: np.ndarray, labels: np.ndarray, tpr: float) -> float:
    """The false-positive rate of ``score >= t`` at the highest threshold t whose true-positive rate
    reaches ``tpr`` (a judge that calls nothing effective is matched by a scorer that does the same)."""
    pos, neg = score[labels == 1], score[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    for t in np.sort(np.unique(score))[::-1]:
        if (pos >= t).mean() >= tpr - 1e-12:
            return float((neg >= t).mean())
    return 1.0


def random_labeler_agreement(p1: float, p2: float) -> dict[str, float]:
    """Expected agreement of two independent labelers that call a comment effective with
    probabilities ``p1`` and ``p2``: positive agreement 2·p1·p2/(p1+p2), negative agreement
    2·q1·q2/(q1+q2), and their gap (positive whenever the base rates exceed ½)."""
    q1, q2 = 1 - p1, 1 - p2
    pos = 2 * p1 * p2 / (p1 + p2) if p1 + p2 else float("nan")
    neg = 2 * q1 * q2 / (q1 + q2) if q1 + q2 else float("nan")
    return {"positive_agreement": pos, "negative_agreement": neg, "positive_minus_negative_agreement": pos - neg}


def longer_wins_per_pair(chosen: list[str], rejected: list[str]) -> np.ndarray:
    """Per pair, the length-only reward's credit: 1 when the chosen answer is longer, ½ on a tie."""
    a, b = word_counts(chosen), word_counts(rejected)
    return np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))


def longer_wins_accuracy(chosen: list[str], rejected: list[str]) -> float:
    """Pairwise accuracy of the length-only reward: the longer answer is preferred (ties count ½)."""
    if not chosen:
        return float("nan")
    return float(np.mean(longer_wins_per_pair(chosen, rejected)))


def stock_sentence(texts: list[str]) -> str:
    """The most common sentence of ``texts`` (ties: the alphabetically first), as written: the
    ``stock`` policy's answer to every post."""
    import re
    from collections import Counter

    counts = Counter(m.strip() for t in texts for m in re.findall(r"[^.!?\n]+[.!?]*", t) if len(m.split()) >= 3)
    if not counts:
        return ""
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def longest_text(texts: list[str]) -> str:
    """The longest of ``texts`` in words (ties: the alphabetically first): the ``longest`` policy's answer."""
    return min(texts, key=lambda t: (-len(t.split()), t)) if texts else ""
