"""How well a judge (a classifier, an LLM, a word count) separates effective from ineffective texts.

:func:`judge_discrimination`: ROC-AUC, balanced accuracy, true- and false-positive rates at a
threshold; :func:`judge_metrics`: the same with 95% CIs from resampling posts
(``redditess.stats.cluster_bootstrap_ci``) and the word count's ROC-AUC on the same texts. The
classifier, second_judge and evaluate stages measure every judge through here: on held-out comments
against the ensemble labels and the truth, and on the arms' generations against gold.
"""

from __future__ import annotations

import numpy as np


def judge_discrimination(prob: np.ndarray, label: np.ndarray, threshold: float, prefix: str = "judge") -> dict[str, float]:
    """ROC-AUC, balanced accuracy, TPR and FPR of a judge on labeled texts (keys ``<prefix>_...``)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    pred = (prob >= threshold).astype(int)
    both = len(set(label.tolist())) == 2
    return {
        f"{prefix}_test_comments": int(len(label)),
        f"{prefix}_roc_auc": float(roc_auc_score(label, prob)) if both else float("nan"),
        f"{prefix}_balanced_accuracy": float(balanced_accuracy_score(label, pred)) if both else float("nan"),
        f"{prefix}_true_positive_rate": float(pred[label == 1].mean()) if (label == 1).any() else float("nan"),
        f"{prefix}_false_positive_rate": float(pred[label == 0].mean()) if (label == 0).any() else float("nan"),
    }


def judge_metrics(prob: np.ndarray, labels: np.ndarray, posts: np.ndarray, words: np.ndarray, threshold: float,
                  n_boot: int, rng: np.random.Generator, prefix: str) -> dict[str, float]:
    """One judge on labeled texts: discrimination (AUC and balanced accuracy with CIs over posts)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from redditess.stats import cluster_bootstrap_ci

    out = judge_discrimination(prob, labels, threshold, prefix)
    if len(set(labels.tolist())) == 2:
        pred = (prob >= threshold).astype(int)
        for name, fn in (("roc_auc", lambda r: roc_auc_score(labels[r], prob[r])),
                         ("balanced_accuracy", lambda r: balanced_accuracy_score(labels[r], pred[r]))):
            out[f"{prefix}_{name}_ci_low"], out[f"{prefix}_{name}_ci_high"] = cluster_bootstrap_ci(fn, posts, n_boot, rng)
        out[f"{prefix}_words_roc_auc"] = float(max(roc_auc_score(labels, words), roc_auc_score(labels, -words)))
    return out
