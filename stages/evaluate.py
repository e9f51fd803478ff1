"""Stage evaluate: judge every model's responses with the classifier (never the reward model PPO
optimised) and compare PPO and DPO with SFT.

    dvc repro evaluate        # or: python stages/evaluate.py

Writes ``metrics/evaluate.json`` (effective-support rate per model; PPO-SFT and DPO-SFT differences
and win rates with bootstrap 95% CIs over posts; the judge on held-out human comments as anchors;
diversity; flagged phrasing), ``plots/evaluate.csv`` and ``reports/evaluate.md`` + ``.png``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from redditess.config import load_params
from redditess.evaluate import bootstrap_mean_ci, distinct_n, flagged_rate
from redditess.io import atomic_path, read_table, write_csv, write_metrics, write_text
from redditess.runtime import derive_seed, stage
from redditess.split import prompt_text

MODELS = ("sft", "ppo", "dpo")


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
    test = read_table("data/split/test.parquet", ["post_id", "post_title", "post_body", "comment_body", "label"])
    prompts = test.drop_duplicates("post_id").set_index("post_id").apply(prompt_text, axis=1)
    tok = AutoTokenizer.from_pretrained("models/classifier")
    judge = AutoModelForSequenceClassification.from_pretrained("models/classifier")
    judge.to("cuda" if torch.cuda.is_available() else "cpu")
    max_length = params.classifier.max_length

    gens = gens.assign(prob=predict_proba(judge, tok, prompts.loc[gens.post_id].tolist(), gens.response.tolist(), max_length))
    gens["effective"] = (gens.prob >= cfg.threshold).astype(float)
    wide = gens.pivot(index="post_id", columns="model", values="effective").sort_index()
    probs = gens.pivot(index="post_id", columns="model", values="prob").sort_index()

    metrics: dict[str, float] = {"posts": len(wide)}
    table = []
    for m in MODELS:
        texts = gens[gens.model == m].response.tolist()
        rate = wide[m].to_numpy()
        low, high = bootstrap_mean_ci(rate, cfg.bootstrap, rng)
        metrics.update({f"effective_rate_{m}": float(rate.mean()), f"effective_rate_{m}_ci_low": low,
                        f"effective_rate_{m}_ci_high": high, f"judge_prob_mean_{m}": float(probs[m].mean()),
                        f"distinct2_{m}": distinct_n(texts), f"flagged_rate_{m}": flagged_rate(texts),
                        f"mean_words_{m}": float(np.mean([len(t.split()) for t in texts]))})
        table.append(dict(model=m, effective_rate=float(rate.mean()), ci_low=low, ci_high=high))
    for m in ("ppo", "dpo"):
        diff = (wide[m] - wide["sft"]).to_numpy()
        win = np.where(probs[m] > probs["sft"], 1.0, np.where(probs[m] == probs["sft"], 0.5, 0.0))
        d_low, d_high = bootstrap_mean_ci(diff, cfg.bootstrap, rng)
        w_low, w_high = bootstrap_mean_ci(win, cfg.bootstrap, rng)
        metrics.update({f"{m}_minus_sft": float(diff.mean()), f"{m}_minus_sft_ci_low": d_low,
                        f"{m}_minus_sft_ci_high": d_high, f"win_rate_{m}_vs_sft": float(win.mean()),
                        f"win_rate_{m}_vs_sft_ci_low": w_low, f"win_rate_{m}_vs_sft_ci_high": w_high})
    # Anchors: the judge on the held-out human comments it was never trained on.
    human_prob = predict_proba(judge, tok, [prompts[p] for p in test.post_id], test.comment_body.tolist(), max_length)
    for label, name in ((1, "human_effective"), (0, "human_ineffective")):
        sel = (test.label == label).to_numpy()
        metrics[f"effective_rate_{name}"] = float((human_prob[sel] >= cfg.threshold).mean()) if sel.any() else float("nan")

    write_metrics("metrics/evaluate.json", metrics)
    write_csv("plots/evaluate.csv", pd.DataFrame(table), ["model"])
    lines = ["# Evaluation", "",
             f"{len(wide)} test posts; each model's response judged by the effective-support classifier "
             f"(threshold {cfg.threshold}). 95% CIs: bootstrap over posts ({cfg.bootstrap} resamples).", "",
             "| model | effective-support rate | 95% CI | distinct-2 | flagged |", "|---|---:|---|---:|---:|"]
    for row in table:
        m = row["model"]
        lines.append(f"| {m} | {row['effective_rate']:.3f} | [{row['ci_low']:.3f}, {row['ci_high']:.3f}] | "
                     f"{metrics['distinct2_' + m]:.3f} | {metrics['flagged_rate_' + m]:.3f} |")
    lines += ["", "| comparison | difference in rate | 95% CI | win rate | 95% CI |", "|---|---:|---|---:|---|"]
    for m in ("ppo", "dpo"):
        lines.append(f"| {m} vs sft | {metrics[m + '_minus_sft']:+.3f} | [{metrics[m + '_minus_sft_ci_low']:+.3f}, "
                     f"{metrics[m + '_minus_sft_ci_high']:+.3f}] | {metrics[f'win_rate_{m}_vs_sft']:.3f} | "
                     f"[{metrics[f'win_rate_{m}_vs_sft_ci_low']:.3f}, {metrics[f'win_rate_{m}_vs_sft_ci_high']:.3f}] |")
    lines += ["", f"Judge on held-out human comments: effective {metrics['effective_rate_human_effective']:.3f}, "
              f"ineffective {metrics['effective_rate_human_ineffective']:.3f} (rate judged effective).", "",
              "![effective-support rate](evaluate.png)", ""]
    write_text("reports/evaluate.md", "\n".join(lines))
    fig, ax = plt.subplots(figsize=(5, 3))
    rates = [r["effective_rate"] for r in table]
    err = [[r["effective_rate"] - r["ci_low"] for r in table], [r["ci_high"] - r["effective_rate"] for r in table]]
    ax.bar([r["model"] for r in table], rates, yerr=err, capsize=4, color=["#888", "#2a7", "#27a"])
    ax.set_ylabel("effective-support rate")
    ax.set_ylim(0, 1)
    ax.set_title("Judged effective support (95% CI)")
    fig.tight_layout()
    with atomic_path("reports/evaluate.png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


if __name__ == "__main__":
    main()
