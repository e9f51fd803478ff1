"""Stage second_judge: build the evaluation judge that never saw the ensemble labels.

    dvc repro second_judge        # or: python stages/second_judge.py

``second_judge.kind`` (``redditess.second_judge``): ``truth`` trains a classifier (the classifier
stage's code and ``classifier`` settings, for ``second_judge.epochs``) on the demo simulator's true
labels of the comments of ``data/split/second_judge_train.parquet`` (comments with a null truth are
dropped and counted); a source without a truth stops with one line naming the param. ``llm`` asks
the LLM judge ``second_judge.llm`` (answers in ``ledgers/second_judge.jsonl``). ``none`` builds nothing.

Writes ``models/second_judge/`` (``second_judge.json`` naming the kind; the classifier's weights for
``truth``), the ledger (empty unless ``llm``) and ``metrics/second_judge.json``: the judge's
discrimination on the test posts' comments against their true labels (``truth_*``, where the source
has them) and their ensemble labels (``judge_*``): ROC-AUC, balanced accuracy, TPR, FPR.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from redditess.baselines import word_counts
from redditess.config import load_params
from redditess.discrimination import judge_metrics
from redditess.guards import require_two_classes
from redditess.io import atomic_path, read_table, write_metrics
from redditess.runtime import InputError, derive_seed, seed_everything, stage
from redditess.second_judge import MODEL_DIR, TEST_LEDGER, LlmJudge, attach_truth, read_true_labels, require_truth, touch_ledger, write_spec
from redditess.split import prompt_text

COLUMNS = ["post_id", "comment_id", "post_title", "post_body", "comment_body", "label"]


@stage
def main() -> None:
    params = load_params()
    cfg = params.second_judge
    seed = derive_seed(params.seed, "second_judge")
    seed_everything(seed)
    metrics: dict[str, float] = {"enabled": float(cfg.kind != "none")}
    if cfg.kind == "none":
        touch_ledger(TEST_LEDGER)
        with atomic_path(MODEL_DIR) as tmp:
            tmp.mkdir(parents=True)
            write_spec(tmp, params)
        write_metrics("metrics/second_judge.json", metrics)
        return
    test = read_table("data/split/test.parquet", COLUMNS)
    if not len(test):
        raise InputError("second_judge: data/split/test.parquet holds 0 comments (see metrics/split.json)")
    truth = read_true_labels()
    threshold = params.evaluate.threshold
    if cfg.kind == "truth":
        from redditess.classifier import judge_spec, train_judge

        require_truth(truth, params)
        train = read_table("data/split/second_judge_train.parquet", COLUMNS)
        if not len(train):
            raise InputError(f"second_judge: data/split/second_judge_train.parquet holds 0 comments "
                             f"(split.second_judge_share is {params.split.second_judge_share}; see metrics/split.json)")
        train, no_truth = attach_truth(train, truth)
        require_two_classes(train.truth_label, "second_judge", "the true labels of data/split/second_judge_train.parquet",
                            "see metrics/split.json and split.second_judge_share")
        metrics.update(train_posts=int(train.post_id.nunique()), train_dropped_no_truth=no_truth)
        if params.classifier.max_train_examples:
            train = train.sample(n=min(params.classifier.max_train_examples, len(train)), random_state=seed)
            train = train.sort_values(["post_id", "comment_id"])
        metrics["train_comments"] = len(train)
        settings = dataclasses.replace(params.classifier, epochs=cfg.epochs)
        val, _ = attach_truth(read_table("data/split/val.parquet", COLUMNS), truth)  # early stopping on true labels too
        judge_model, _ = train_judge(settings, [prompt_text(r) for r in train.itertuples()], train.comment_body.tolist(),
                                     train.truth_label.tolist(), seed,
                                     val=([prompt_text(r) for r in val.itertuples()], val.comment_body.tolist(),
                                          val.truth_label.tolist()))
        prob = judge_model.score([prompt_text(r) for r in test.itertuples()], test.comment_body.tolist())
        touch_ledger(TEST_LEDGER)
    else:
        judge = LlmJudge(cfg.llm, TEST_LEDGER, seed)
        prob = judge.score([prompt_text(r) for r in test.itertuples()], test.comment_body.tolist())
        counts = judge.stats.counts
        metrics.update(requests_sent=judge.stats.requests, from_ledger=counts["cached"],
                       abstained=int(np.isnan(prob).sum()), metered_prompt_tokens=judge.stats.prompt_tokens,
                       metered_completion_tokens=judge.stats.completion_tokens)
    answered = ~np.isnan(prob)
    rng = np.random.default_rng(derive_seed(params.seed, "second_judge:bootstrap"))
    n_boot = params.evaluate.bootstrap
    kept = test.assign(prob=prob)[answered]
    metrics.update(judge_metrics(kept.prob.to_numpy(), kept.label.astype(int).to_numpy(), kept.post_id.to_numpy(),
                                 word_counts(kept.comment_body), threshold, n_boot, rng, "judge"))
    scored, no_truth = attach_truth(kept, truth)
    metrics["test_dropped_no_truth"] = no_truth
    if len(scored):
        metrics.update(judge_metrics(scored.prob.to_numpy(), scored.truth_label.to_numpy(), scored.post_id.to_numpy(),
                                     word_counts(scored.comment_body), threshold, n_boot, rng, "truth"))
    with atomic_path(MODEL_DIR) as tmp:
        tmp.mkdir(parents=True)
        if cfg.kind == "truth":
            judge_model.save(tmp, judge_spec(settings))
        write_spec(tmp, params)
    write_metrics("metrics/second_judge.json", metrics)


if __name__ == "__main__":
    main()
