"""Stage evaluate: judge every arm's responses (base, SFT, DPO, PPO) of every replicate with a judge
the reward model never was, compare the arms that matter, and check that the verdicts are not artefacts.

    dvc repro evaluate        # or: python stages/evaluate.py

The judge is the effective-support classifier, trained on training posts disjoint from the ones the
reward model, DPO and PPO learned from (``split.judge_share``). Its discrimination on held-out
labeled comments (ROC-AUC, balanced accuracy, false-positive rate) is reported next to its verdicts,
and a judge under ``evaluate.min_judge_balanced_accuracy`` is marked unusable (``judge_usable`` 0).

Per replicate (``params.seeds``: ``data/generations/seed_<i>.parquet``), per arm: effective-support
rate, with and without responses that cannot count as support (cut off mid-sentence, off topic:
``redditess.diagnostics``), length, distinct-2, repetition, mode collapse, relevance against a
shuffled-post baseline; per pair (SFT−base, DPO−base, DPO−SFT, PPO−SFT, PPO−DPO): the difference and
win rate and a length-controlled difference (OLS on response length).
``redditess.evaluate.judged_metrics`` computes them for the first judge and, as ``judge2_*``, for the
second judge that never saw the ensemble labels (``redditess.second_judge``). The crisis lane
(``redditess.crisis``) checks every arm's answers to every crisis post no model trained on
(``data/split/crisis.parquet``) and compares each aligned arm with SFT.

``metrics/evaluate.json`` holds each figure's mean over replicates under its key, ``<key>_sd`` (sd
across replicates) and 95% CIs that include the seed variation (bootstrap over posts of the per-post
mean across replicates); ``metrics/evaluate_replicates.json`` holds each replicate's figures
(``<key>@<i>``). Also ``plots/evaluate.csv`` and ``reports/evaluate.md`` + ``.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from redditess.config import load_params
from redditess.evaluate import ARMS, PAIRS, crisis_metrics, judge_discrimination, judged_metrics
from redditess.io import atomic_path, read_table, write_csv, write_metrics, write_text
from redditess.replicates import generations_file, mean_sd, metrics_file
from redditess.runtime import InputError, derive_seed, stage
from redditess.second_judge import second_judge_report, second_judge_verdicts
from redditess.split import prompt_text


def read_generations(seeds: list[int]) -> dict[int, pd.DataFrame]:
    """Every replicate's responses; each must answer the same posts with the same arms (they are
    paired post by post), and hold the SFT arm."""
    gens = {r: read_table(generations_file(r), ["post_id", "model", "response"]) for r in seeds}
    first = seeds[0]
    want = sorted(zip(gens[first].post_id, gens[first].model))
    if len(gens[first]) == 0 or "sft" not in set(gens[first].model):
        raise InputError(f"{generations_file(first)} holds no SFT responses (run `dvc repro generate@{first}`)")
    for r, g in gens.items():
        if sorted(zip(g.post_id, g.model)) != want:
            raise InputError(f"{generations_file(r)} answers other posts or arms than {generations_file(first)} "
                             f"(re-run `dvc repro generate@{r}`: every replicate answers the same test posts)")
    return gens


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
    gens = read_generations(params.seeds)
    test = read_table("data/split/test.parquet", ["post_id", "post_title", "post_body", "comment_body", "label"])
    crisis = read_table("data/split/crisis.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    posts = test.drop_duplicates("post_id").set_index("post_id")
    texts = pd.concat([posts[["post_title", "post_body"]], crisis.set_index("post_id")])
    prompts = texts[~texts.index.duplicated()].apply(prompt_text, axis=1)
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

    # The arms are compared on the test posts; the crisis lane's posts (most of them from outside the
    # test split: every crisis post no model trained on) are checked for safety on their own.
    crisis_gens = {r: g[g.post_id.isin(set(crisis.post_id))] for r, g in gens.items()}
    gens = {r: g[g.post_id.isin(set(posts.index))] for r, g in gens.items()}
    judged = {r: g.assign(prob=predict_proba(judge, tok, prompts.loc[g.post_id].tolist(), g.response.tolist(), max_length))
              for r, g in gens.items()}
    first = judged[params.seeds[0]]
    metrics["posts"] = first.post_id.nunique()
    metrics["replicates"] = len(params.seeds)
    combined, per_replicate, mode_sentences = judged_metrics(judged, prompts, cfg.threshold, cfg.on_topic_quantile,
                                                             cfg.bootstrap, rng)
    metrics.update(combined)
    # judge2_*: the judge that never saw the ensemble labels (its own seeded bootstrap draws).
    combined2, per_replicate2 = second_judge_verdicts(judged, prompts, params)
    metrics.update(combined2)
    for r, rep in per_replicate2.items():
        per_replicate[r].update(rep)
    metrics["crisis_eval_posts"] = int(crisis.post_id.nunique())
    metrics.update(crisis_metrics(crisis_gens, cfg.bootstrap, rng))
    kl = [json.loads(Path(metrics_file("ppo", r)).read_text()).get("kl_last_quarter", float("nan"))
          for r in params.seeds if Path(metrics_file("ppo", r)).exists()]
    if kl:
        metrics["ppo_kl_last_quarter"], metrics["ppo_kl_last_quarter_sd"] = mean_sd([float("nan") if v is None else v for v in kl])

    arms = [a for a in ARMS if a in set(first.model)]
    table = [{"model": m, "mode_sentence": mode_sentences.get(m, ""),
              **{k: metrics[f"{k}_{m}"] for k in ("effective_rate", "effective_rate_usable")},
              **{f"{k}_{s}": metrics[f"{k}_{m}_{s}"] for k in ("effective_rate", "effective_rate_usable")
                 for s in ("sd", "ci_low", "ci_high")},
              "replicates": [per_replicate[r][f"effective_rate_{m}"] for r in params.seeds]} for m in arms]

    write_metrics("metrics/evaluate.json", metrics)
    write_metrics("metrics/evaluate_replicates.json", {f"{k}@{r}": v for r, rep in per_replicate.items() for k, v in rep.items()})
    # ci_low/ci_high: the columns the bar_ci chart template (.dvc/plots/bar_ci.json) draws as the CI rule.
    plot = pd.DataFrame(table).rename(columns={"effective_rate_ci_low": "ci_low", "effective_rate_ci_high": "ci_high",
                                               "effective_rate_sd": "sd"})
    write_csv("plots/evaluate.csv", plot[["model", "effective_rate", "sd", "ci_low", "ci_high", "effective_rate_usable"]], ["model"])
    write_text("reports/evaluate.md", report(metrics, table, arms, cfg, params.seeds))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(table))
    for offset, key, colour, label in ((-0.2, "effective_rate", "#4a7bb7", "all responses"),
                                       (0.2, "effective_rate_usable", "#d9822b", "finished, on-topic only")):
        rates = np.array([r[key] for r in table])
        err = np.array([[r[key] - r[f"{key}_ci_low"] for r in table], [r[f"{key}_ci_high"] - r[key] for r in table]])
        ax.bar(x + offset, rates, width=0.4, yerr=np.clip(np.nan_to_num(err), 0, None), capsize=3, color=colour, label=label)
        if key == "effective_rate":  # each replicate's rate, so the seed spread is visible
            for i, r in enumerate(table):
                ax.plot([x[i] + offset] * len(r["replicates"]), r["replicates"], "k.", markersize=3)
    ax.set_xticks(x, [r["model"] for r in table])
    ax.set_ylabel("judged effective-support rate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"Judged effective support: mean of {len(params.seeds)} replicate(s), each as a dot, 95% CI", fontsize=9)
    fig.tight_layout()
    with atomic_path("reports/evaluate.png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


def report(metrics: dict, table: list[dict], arms: list[str], cfg, seeds: list[int]) -> str:
    def f(x, sign=False):
        return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else (f"{x:+.3f}" if sign else f"{x:.3f}")

    def msd(key, sign=False):
        """mean ± sd over replicates (the sd is left out with one replicate)."""
        sd = metrics.get(f"{key}_sd")
        return f(metrics.get(key), sign) + ("" if sd is None or np.isnan(sd) else f" ± {sd:.3f}")

    def ci(key, sign=False):
        return f"[{f(metrics.get(key + '_ci_low'), sign)}, {f(metrics.get(key + '_ci_high'), sign)}]"

    usable = "usable" if metrics["judge_usable"] else "NOT usable for claims"
    n = len(seeds)
    lines = ["# Evaluation", "",
             f"{metrics['posts']} test posts, answered by every arm of {n} replicate(s) of the model stages "
             f"(params.yaml `seeds`: {seeds}; each replicate trains SFT, the reward model, PPO and DPO with its own seed). "
             f"Each response is judged by the effective-support classifier (threshold {cfg.threshold}), trained on training "
             "posts disjoint from the reward model's. Figures: mean ± sd across replicates; 95% CIs include the seed "
             f"variation (bootstrap over posts of the per-post mean across replicates, {cfg.bootstrap} resamples). "
             "Each replicate's figures: `metrics/evaluate_replicates.json`.", "",
             "## The judge", "",
             f"On {metrics['judge_test_comments']} held-out labeled comments: ROC-AUC {f(metrics['judge_roc_auc'])}, "
             f"balanced accuracy {f(metrics['judge_balanced_accuracy'])} (bound {cfg.min_judge_balanced_accuracy}: {usable}), "
             f"true-positive rate {f(metrics['judge_true_positive_rate'])}, false-positive rate {f(metrics['judge_false_positive_rate'])}. "
             f"Spearman correlation of its probability with response length: {msd('judge_length_correlation')}.", "",
             "## Arms", "",
             "A response that stops mid-sentence or is off topic (closer to other posts than its own) cannot count as "
             "support: *usable* rates count only finished, on-topic responses as effective.", "",
             "| arm | effective | 95% CI | effective, usable only | 95% CI | words | cut off | off topic | mode sentence share | distinct-2 | repetition |",
             "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for m in arms:
        lines.append(f"| {m} | {msd(f'effective_rate_{m}')} | {ci(f'effective_rate_{m}')} | "
                     f"{msd(f'effective_rate_usable_{m}')} | {ci(f'effective_rate_usable_{m}')} | "
                     f"{metrics['mean_words_' + m]:.1f} | {msd('truncated_share_' + m)} | {f(1 - metrics['on_topic_share_' + m])} | "
                     f"{msd('mode_sentence_share_' + m)} | {f(metrics['distinct2_' + m])} | {f(metrics['repetition_rate_' + m])} |")
    lines += ["", f"Most common sentence per arm (replicate {seeds[0]}): "
              + "; ".join(f"{r['model']}: “{r['mode_sentence']}”" for r in table), "",
              "## Comparisons", "",
              "| comparison | difference | 95% CI | usable only | 95% CI | length-controlled | 95% CI | win rate | 95% CI |",
              "|---|---:|---|---:|---|---:|---|---:|---|"]
    for a, b in PAIRS:
        k = f"{a}_minus_{b}"
        if k not in metrics:
            continue
        w = f"win_rate_{a}_vs_{b}"
        lines.append(f"| {a} − {b} | {msd(k, True)} | {ci(k, True)} | {msd(k + '_usable', True)} | {ci(k + '_usable', True)} | "
                     f"{msd(k + '_length_controlled', True)} | {ci(k + '_length_controlled', True)} | {msd(w)} | {ci(w)} |")
    lines += ["", *second_judge_report(metrics, arms, PAIRS)]
    lines += ["## Crisis lane", "",
              f"{metrics['crisis_eval_posts']} posts flagged by the crisis lexicon (`redditess.crisis`) that no model trained on "
              "(`data/split/crisis.parquet`). Share of each arm's answers that acknowledge the person, point to help resources, "
              "contain nothing from the harmful-content list, and all three (mean ± sd across replicates):", "",
              "| arm | acknowledges | resources | harmless | all three |", "|---|---:|---:|---:|---:|"]
    for m in arms:
        lines.append(f"| {m} | {msd(f'crisis_acknowledges_{m}')} | {msd(f'crisis_resources_{m}')} | "
                     f"{msd(f'crisis_harmless_{m}')} | {msd(f'crisis_safe_and_supportive_{m}')} |")
    for key, name in (("crisis_safe", "all three"), ("crisis_harmless", "harmless")):
        if f"{key}_min_aligned_minus_sft" in metrics:
            lines += ["", f"Worst aligned arm minus SFT, {name}: {msd(f'{key}_min_aligned_minus_sft', True)} "
                          f"{ci(f'{key}_min_aligned_minus_sft', True)} (paired bootstrap over posts of the mean across replicates)."]
    lines += ["", "![effective-support rate](evaluate.png)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
