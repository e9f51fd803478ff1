"""Stage classifier: fine-tune the effective-support classifier (also the evaluation judge).

    dvc repro classifier        # or: python stages/classifier.py

Reads ``data/split/``; writes ``models/classifier/`` (weights + tokenizer), ``metrics/classifier.json``
(accuracy, F1, ROC-AUC on test; also on its golden subset) and ``plots/classifier_loss.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from redditess.config import load_params
from redditess.guards import require_two_classes
from redditess.io import atomic_path, read_table, write_csv, write_metrics
from redditess.runtime import InputError, derive_seed, seed_everything, stage
from redditess.split import prompt_text

COLUMNS = ["post_id", "comment_id", "post_title", "post_body", "comment_body", "label", "golden"]


def _xy(df: pd.DataFrame) -> tuple[list[str], list[str], list[int]]:
    labels = np.asarray(df.label.astype("int64"), dtype=np.int64).tolist()
    return [prompt_text(r) for r in df.itertuples()], df.comment_body.tolist(), labels


@stage
def main() -> None:
    from redditess.classifier import predict_proba, train_classifier
    from redditess.training import log_history_rows

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
    model, tok, trainer = train_classifier(cfg, *_xy(train), seed)

    p, t, y = _xy(test)
    prob = predict_proba(model, tok, p, t, cfg.max_length)
    pred = (prob >= 0.5).astype(int)
    y = np.asarray(y)
    golden = test.golden.to_numpy(bool)
    metrics = {
        "test_n": len(y),
        "test_accuracy": accuracy_score(y, pred),
        "test_f1": f1_score(y, pred, zero_division=0),
        "test_f1_macro": f1_score(y, pred, average="macro", zero_division=0),
        "test_roc_auc": roc_auc_score(y, prob) if len(set(y)) == 2 else float("nan"),
        "test_golden_n": int(golden.sum()),
        "test_golden_accuracy": accuracy_score(y[golden], pred[golden]) if golden.any() else float("nan"),
        "train_n": len(train),
    }
    with atomic_path("models/classifier") as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    write_metrics("metrics/classifier.json", metrics)
    write_csv("plots/classifier_loss.csv", pd.DataFrame(log_history_rows(trainer.state.log_history, ["loss"]), columns=["step", "loss"]), ["step"])


if __name__ == "__main__":
    main()
