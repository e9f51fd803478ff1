"""Stage evaluate: judge every arm's responses (base, SFT, DPO, PPO) with a judge the reward model
never was, compare the arms that matter, and check that the verdicts are not artefacts.

    dvc repro evaluate        # or: python stages/evaluate.py

The judge is the effective-support classifier, trained on training posts disjoint from the ones the
reward model, DPO and PPO learned from (``split.judge_share``). Its discrimination on held-out
labeled comments (ROC-AUC, balanced accuracy, false-positive rate) is reported next to its verdicts,
and a judge under ``evaluate.min_judge_balanced_accuracy`` is marked unusable (``judge_usable`` 0).

Per arm: effective-support rate with bootstrap 95% CIs over posts, with and without responses that
cannot count as support (cut off mid-sentence, off topic: ``redditess.diagnostics``), length,
distinct-2, repetition, mode collapse, relevance against a shuffled-post baseline, and the crisis
lane (``redditess.crisis``). Per pair (SFT−base, DPO−base, DPO−SFT, PPO−SFT, PPO−DPO): the
difference and win rate with CIs and a length-controlled difference (OLS on response length).
The second judge (``redditess.second_judge``, never trained on the ensemble labels) judges the same
responses: ``judge2_*`` metrics and a section of the report.
Writes ``metrics/evaluate.json``, ``plots/evaluate.csv``, ``reports/evaluate.md`` + ``.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from redditess.config import load_params
from redditess.diagnostics import (
    mode_sentence_share,
    relevance,
    repetition_rate,
    reward_length_correlation,
    truncated,
)
from redditess.evaluate import bootstrap_mean_ci, distinct_n, flagged_rate, judge_discrimination, lane_metrics, pair_metrics
from redditess.io import atomic_path, read_table, write_csv, write_metrics, write_text
from redditess.runtime import InputError, derive_seed, stage
from redditess.second_judge import second_judge_report, second_judge_verdicts
from redditess.split import prompt_text

ARMS = ("base", "sft", "dpo", "ppo")
PAIRS = (("sft", "base"), ("dpo", "base"), ("dpo", "sft"), ("ppo", "sft"), ("ppo", "dpo"))
ALIGNED = ("dpo", "ppo")


@stage
def main() -> None:
    import matplotlib
    import torch

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from redditess.classifier import predict_proba

    params = load_params()
    cfg = params.evaluate
    rng = np.random.default_rng(derive_seed(params.seed, "evaluate"))
    gens = read_table("data/generations.parquet", ["post_id", "model", "response"])
    test = read_table("data/split/test.parquet", ["post_id", "post_title", "post_body", "comment_body", "label", "crisis"])
    arms = [a for a in ARMS if a in set(gens.model)]
    if len(gens) == 0 or "sft" not in arms:
        raise InputError("data/generations.parquet holds no SFT responses (run `dvc repro generate`)")
    crisis = read_table("data/split/crisis.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    posts = test.drop_duplicates("post_id").set_index("post_id")
    prompts = pd.concat([posts, crisis.set_index("post_id")]).pipe(lambda d: d[~d.index.duplicated()]).apply(prompt_text, axis=1)
    # The arms are compared on the test posts; the crisis lane's posts (most from outside the test
    # split) are judged below on their own.
    crisis_gens = gens[gens.post_id.isin(set(crisis.post_id))]
    gens = gens[gens.post_id.isin(set(posts.index))]
    tok = AutoTokenizer.from_pretrained("models/classifier")
    judge = AutoModelForSequenceClassification.from_pretrained("models/classifier")
    judge.to("cuda" if torch.cuda.is_available() else "cpu")
    max_length = params.classifier.max_length

    # The judge's discrimination on held-out labeled comments (the ensemble labels of test posts,
    # which neither it nor the reward model trained on).
    human_prob = predict_proba(judge, tok, [prompts[p] for p in test.post_id], test.comment_body.tolist(), max_length)
    labels = test.label.astype(int).to_numpy()
    metrics: dict[str, float] = judge_discrimination(human_prob, labels, cfg.threshold)
    metrics["judge_usable"] = float(metrics["judge_balanced_accuracy"] >= cfg.min_judge_balanced_accuracy)
    for label, name in ((1, "human_effective"), (0, "human_ineffective")):
        sel = labels == label
        metrics[f"effective_rate_{name}"] = float((human_prob[sel] >= cfg.threshold).mean()) if sel.any() else float("nan")

    gens = gens.assign(prob=predict_proba(judge, tok, prompts.loc[gens.post_id].tolist(), gens.response.tolist(), max_length))
    gens["effective"] = (gens.prob >= cfg.threshold).astype(float)
    gens["words"] = gens.response.str.split().str.len().astype(float)
    gens["truncated"] = gens.response.map(truncated)
    gens["repetition"] = gens.response.map(repetition_rate)
    parts = []
    for m in arms:
        g = gens[gens.model == m].sort_values("post_id")
        rel, on_topic = relevance(prompts.loc[g.post_id].tolist(), g.response.tolist(), cfg.on_topic_quantile)
        parts.append(g.assign(relevance=rel, on_topic=on_topic))
    gens = pd.concat(parts)
    gens["usable"] = ~gens.truncated & gens.on_topic
    gens["effective_usable"] = gens.effective * gens.usable
    wide = {col: gens.pivot(index="post_id", columns="model", values=col).sort_index()
            for col in ("effective", "effective_usable", "prob", "words")}
    metrics["posts"] = len(wide["effective"])
    metrics["judge_length_correlation"] = reward_length_correlation(gens.prob.to_numpy(), gens.words.to_numpy())
    ppo_metrics = Path("metrics/ppo.json")
    if ppo_metrics.exists():
        ppo = json.loads(ppo_metrics.read_text())
        metrics["ppo_kl_last_quarter"] = float(ppo.get("kl_last_quarter", float("nan")))

    table = []
    for m in arms:
        g = gens[gens.model == m]
        texts = g.response.tolist()
        share, top = mode_sentence_share(texts)
        row = {"model": m}
        for col, key in (("effective", "effective_rate"), ("effective_usable", "effective_rate_usable")):
            rate = wide[col][m].to_numpy()
            low, high = bootstrap_mean_ci(rate, cfg.bootstrap, rng)
            metrics.update({f"{key}_{m}": float(rate.mean()), f"{key}_{m}_ci_low": low, f"{key}_{m}_ci_high": high})
            row.update({key: float(rate.mean()), f"{key}_ci_low": low, f"{key}_ci_high": high})
        metrics.update({
            f"judge_prob_mean_{m}": float(g.prob.mean()), f"distinct2_{m}": distinct_n(texts),
            f"flagged_rate_{m}": flagged_rate(texts), f"mean_words_{m}": float(g.words.mean()),
            f"truncated_share_{m}": float(g.truncated.mean()), f"mode_sentence_share_{m}": share,
            f"repetition_rate_{m}": float(g.repetition.mean()), f"relevance_{m}": float(g.relevance.mean()),
            f"on_topic_share_{m}": float(g.on_topic.mean()), f"usable_share_{m}": float(g.usable.mean()),
            f"judge_length_correlation_{m}": reward_length_correlation(g.prob.to_numpy(), g.words.to_numpy()),
        })
        row["mode_sentence"] = top
        table.append(row)

    for a, b in PAIRS:
        if a not in arms or b not in arms:
            continue
        metrics.update(pair_metrics(wide, a, b, cfg.bootstrap, rng))

    metrics.update(second_judge_verdicts(gens, prompts, arms, PAIRS, params))  # judge2_*: the judge that never saw the labels
    metrics.update(lane_metrics(crisis_gens, arms, ALIGNED, cfg.bootstrap, rng))

    write_metrics("metrics/evaluate.json", metrics)
    # ci_low/ci_high: the columns the bar_ci chart template (.dvc/plots/bar_ci.json) draws as the CI rule.
    plot = pd.DataFrame(table).rename(columns={"effective_rate_ci_low": "ci_low", "effective_rate_ci_high": "ci_high"})
    write_csv("plots/evaluate.csv", plot[["model", "effective_rate", "ci_low", "ci_high", "effective_rate_usable"]], ["model"])
    write_text("reports/evaluate.md", report(metrics, table, arms, cfg))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(table))
    for offset, key, colour, label in ((-0.2, "effective_rate", "#4a7bb7", "all responses"),
                                       (0.2, "effective_rate_usable", "#d9822b", "finished, on-topic only")):
        rates = np.array([r[key] for r in table])
        err = np.array([[r[key] - r[f"{key}_ci_low"] for r in table], [r[f"{key}_ci_high"] - r[key] for r in table]])
        ax.bar(x + offset, rates, width=0.4, yerr=np.clip(err, 0, None), capsize=3, color=colour, label=label)
    ax.set_xticks(x, [r["model"] for r in table])
    ax.set_ylabel("judged effective-support rate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Judged effective support per arm (95% CI)")
    fig.tight_layout()
    with atomic_path("reports/evaluate.png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


def report(metrics: dict, table: list[dict], arms: list[str], cfg) -> str:
    def f(x, sign=False):
        return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else (f"{x:+.3f}" if sign else f"{x:.3f}")

    usable = "usable" if metrics["judge_usable"] else "NOT usable for claims"
    lines = ["# Evaluation", "",
             f"{metrics['posts']} test posts; each arm's response judged by the effective-support classifier "
             f"(threshold {cfg.threshold}), trained on training posts disjoint from the reward model's. "
             f"95% CIs: bootstrap over posts ({cfg.bootstrap} resamples).", "",
             "## The judge", "",
             f"On {metrics['judge_test_comments']} held-out labeled comments: ROC-AUC {f(metrics['judge_roc_auc'])}, "
             f"balanced accuracy {f(metrics['judge_balanced_accuracy'])} (bound {cfg.min_judge_balanced_accuracy}: {usable}), "
             f"true-positive rate {f(metrics['judge_true_positive_rate'])}, false-positive rate {f(metrics['judge_false_positive_rate'])}. "
             f"Spearman correlation of its probability with response length: {f(metrics['judge_length_correlation'])}.", "",
             "## Arms", "",
             "A response that stops mid-sentence or is off topic (closer to other posts than its own) cannot count as "
             "support: *usable* rates count only finished, on-topic responses as effective.", "",
             "| arm | effective | 95% CI | effective, usable only | 95% CI | words | cut off | off topic | mode sentence share | distinct-2 | repetition |",
             "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in table:
        m = r["model"]
        lines.append(f"| {m} | {f(r['effective_rate'])} | [{f(r['effective_rate_ci_low'])}, {f(r['effective_rate_ci_high'])}] | "
                     f"{f(r['effective_rate_usable'])} | [{f(r['effective_rate_usable_ci_low'])}, {f(r['effective_rate_usable_ci_high'])}] | "
                     f"{metrics['mean_words_' + m]:.1f} | {f(metrics['truncated_share_' + m])} | {f(1 - metrics['on_topic_share_' + m])} | "
                     f"{f(metrics['mode_sentence_share_' + m])} | {f(metrics['distinct2_' + m])} | {f(metrics['repetition_rate_' + m])} |")
    lines += ["", "Most common sentence per arm: " + "; ".join(f"{r['model']}: “{r['mode_sentence']}”" for r in table), "",
              "## Comparisons", "",
              "| comparison | difference | 95% CI | usable only | 95% CI | length-controlled | 95% CI | win rate | 95% CI |",
              "|---|---:|---|---:|---|---:|---|---:|---|"]
    for a, b in PAIRS:
        k = f"{a}_minus_{b}"
        if k not in metrics:
            continue
        lines.append(f"| {a} − {b} | {f(metrics[k], True)} | [{f(metrics[k + '_ci_low'], True)}, {f(metrics[k + '_ci_high'], True)}] | "
                     f"{f(metrics[k + '_usable'], True)} | [{f(metrics[k + '_usable_ci_low'], True)}, {f(metrics[k + '_usable_ci_high'], True)}] | "
                     f"{f(metrics[k + '_length_controlled'], True)} | [{f(metrics[k + '_length_controlled_ci_low'], True)}, "
                     f"{f(metrics[k + '_length_controlled_ci_high'], True)}] | {f(metrics[f'win_rate_{a}_vs_{b}'])} | "
                     f"[{f(metrics[f'win_rate_{a}_vs_{b}_ci_low'])}, {f(metrics[f'win_rate_{a}_vs_{b}_ci_high'])}] |")
    lines += ["", *second_judge_report(metrics, arms, PAIRS)]
    lines += ["## Crisis lane", "",
              f"{metrics['crisis_eval_posts']} posts flagged by the crisis lexicon (`redditess.crisis`) that no model trained on "
              "(`data/split/crisis.parquet`). Share of each arm's answers that acknowledge the person, point to help resources, "
              "contain nothing from the harmful-content list, and all three:", "",
              "| arm | acknowledges | resources | harmless | all three |", "|---|---:|---:|---:|---:|"]
    for m in arms:
        lines.append(f"| {m} | {f(metrics[f'crisis_acknowledges_{m}'])} | {f(metrics[f'crisis_resources_{m}'])} | "
                     f"{f(metrics[f'crisis_harmless_{m}'])} | {f(metrics[f'crisis_safe_and_supportive_{m}'])} |")
    for key, name in (("crisis_safe", "all three"), ("crisis_harmless", "harmless")):
        if f"{key}_min_aligned_minus_sft" in metrics:
            lines.append(f"\nWorst aligned arm minus SFT, {name}: {f(metrics[f'{key}_min_aligned_minus_sft'], True)} "
                         f"(95% CI from {f(metrics[f'{key}_min_aligned_minus_sft_ci_low'], True)}; paired bootstrap over posts).")
    lines += ["", "![effective-support rate](evaluate.png)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
