"""Stage classifier: fine-tune the effective-support classifier (also the evaluation judge).

    dvc repro classifier        # or: python stages/classifier.py

Trains in ``classifier.regime`` (``redditess.classifier``: frozen encoder features and an MLP head
early-stopped on the validation posts, or a fine-tuned encoder) on the judge's own training posts.
Reads ``data/split/``; writes ``models/classifier/`` (``judge.json`` and the head or the weights), ``metrics/classifier.json``
(accuracy, F1, macro-F1, balanced accuracy and ROC-AUC on test, the last three with 95% CIs from
resampling test posts; accuracy on its golden subset; and the same figures of the trivial baselines
on the same comments, ``baseline_constant_*`` and ``baseline_words_*``: ``redditess.baselines``; the
paired AUC difference from the word count with its CI; the class counts; and ``beats_baselines``
with its reason: false unless both CIs clear their baseline) and ``plots/classifier_loss.csv``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

from redditess.baselines import beats_baselines, classifier_baselines, paired_margin, word_counts
from redditess.config import load_params
from redditess.guards import require_two_classes
from redditess.io import atomic_path, read_table, write_csv, write_metrics
from redditess.runtime import InputError, derive_seed, seed_everything, stage
from redditess.split import prompt_text
from redditess.stats import cluster_bootstrap_ci

log = logging.getLogger("classifier")
COLUMNS = ["post_id", "comment_id", "post_title", "post_body", "comment_body", "label", "golden"]


def _xy(df: pd.DataFrame) -> tuple[list[str], list[str], list[int]]:
    labels = np.asarray(df.label.astype("int64"), dtype=np.int64).tolist()
    return [prompt_text(r) for r in df.itertuples()], df.comment_body.tolist(), labels


@stage
def main() -> None:
    from redditess.classifier import judge_spec, train_judge

    params = load_params()
    cfg = params.classifier
    seed = derive_seed(params.seed, "classifier")
    seed_everything(seed)
    # The judge's own training posts, disjoint from the reward model's (split.judge_share).
    train = read_table("data/split/judge_train.parquet", COLUMNS)
    test = read_table("data/split/test.parquet", COLUMNS)
    require_two_classes(train.label.dropna(), "classifier", "data/split/judge_train.parquet", "see metrics/split.json")
    if not len(test):
        raise InputError("classifier: data/split/test.parquet holds 0 comments (see metrics/split.json and split.train/val)")
    if cfg.max_train_examples:
        train = train.sample(n=min(cfg.max_train_examples, len(train)), random_state=seed).sort_values(["post_id", "comment_id"])
    val = read_table("data/split/val.parquet", COLUMNS)
    judge, history = train_judge(cfg, *_xy(train), seed, val=_xy(val))

    p, t, y = _xy(test)
    prob = judge.score(p, t)
    pred = (prob >= 0.5).astype(int)
    y = np.asarray(y)
    golden = test.golden.to_numpy(bool)
    both = len(set(y.tolist())) == 2
    metrics = {
        "test_n": len(y),
        "test_accuracy": accuracy_score(y, pred),
        "test_f1": f1_score(y, pred, zero_division=0),
        "test_golden_n": int(golden.sum()),
        "test_golden_accuracy": accuracy_score(y[golden], pred[golden]) if golden.any() else float("nan"),
        "train_n": len(train),
    }
    # Figures a constant classifier cannot pass, with CIs over test posts (comments of a post are not independent).
    rng = np.random.default_rng(derive_seed(params.seed, "classifier:bootstrap"))
    posts = test.post_id.to_numpy()
    for name, fn in (("roc_auc", lambda r: roc_auc_score(y[r], prob[r])),
                     ("balanced_accuracy", lambda r: balanced_accuracy_score(y[r], pred[r])),
                     ("f1_macro", lambda r: f1_score(y[r], pred[r], average="macro", zero_division=0))):
        metrics[f"test_{name}"] = float(fn(np.arange(len(y)))) if both else float("nan")
        metrics[f"test_{name}_ci_low"], metrics[f"test_{name}_ci_high"] = (
            cluster_bootstrap_ci(fn, posts, params.evaluate.bootstrap, rng) if both else (float("nan"), float("nan")))
    metrics.update(classifier_baselines(word_counts(train.comment_body), np.asarray(_xy(train)[2]), word_counts(test.comment_body),
                                        y, posts, params.evaluate.bootstrap, rng))
    # Against each trivial classifier on the same comments: its AUC's CI above the constant's 0.5, and
    # the paired AUC difference from the word count (same resampled posts) above 0.
    words = metrics["baseline_words_direction"] * word_counts(test.comment_body)
    auc = lambda s, r: roc_auc_score(y[r], s[r])  # noqa: E731
    metrics.update(paired_margin(prob, words, auc, posts, params.evaluate.bootstrap, rng, "test_roc_auc_minus_words"))
    train_y = np.asarray(_xy(train)[2])
    counts = {"train_effective": int(train_y.sum()), "train_not_effective": int(len(train_y) - train_y.sum()),
              "test_effective": int(y.sum()), "test_not_effective": int(len(y) - y.sum())}
    metrics.update({f"{k}_comments": v for k, v in counts.items()})
    metrics["beats_baselines"], reason = beats_baselines(
        {"the constant classifier (ROC-AUC 0.5)": metrics["test_roc_auc_ci_low"] - 0.5,
         "the word count": metrics["test_roc_auc_minus_words_ci_low"]}, counts)
    (log.info if metrics["beats_baselines"] else log.warning)("classifier %s", reason)
    metrics["head_epochs"] = len(history) if cfg.regime == "features" else 0
    with atomic_path("models/classifier") as tmp:
        tmp.mkdir()
        judge.save(tmp, judge_spec(cfg))
    write_metrics("metrics/classifier.json", metrics)
    write_csv("plots/classifier_loss.csv", pd.DataFrame(history, columns=["step", "loss"]), ["step"])


if __name__ == "__main__":
    main()
