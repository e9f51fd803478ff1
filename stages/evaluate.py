"""Stage evaluate: every arm's responses of every replicate, scored by gold (the demo testbed's oracle)
and by two judges the reward model never was, compared with the trivial and best-of-n baselines.

    dvc repro evaluate        # or: python stages/evaluate.py

The arms (``redditess.arms``): the base model, the trivial policies (``stock``, ``longest``), SFT,
best-of-n, DPO and the RL arms, each replicate's answers to the same test posts
(``data/generations/seed_<i>.parquet``, ``best_of_n_<i>.parquet``). Verdicts
(``redditess.evaluate.VERDICTS``): ``gold`` (``redditess.gold``, the ground truth wherever the posts are
the testbed's; nothing on real posts), ``judge`` (the effective-support classifier, trained on
posts disjoint from the reward model's) and ``judge2`` (``redditess.second_judge``, which never saw
the ensemble labels). Each judge's discrimination is measured on held-out labeled comments (against
the ensemble labels, and against the truth where there is one) and on the arms' own generations
against gold (judge drift on policy outputs), beside the word-count baseline's; a judge under
``evaluate.min_judge_balanced_accuracy`` is marked unusable.

Figures are means over replicates with their sd, each replicate's figure, and 95% CIs over posts and
replicates (``redditess.stats.hierarchical_ci``). An RL arm whose cut-off or stock-answer share
exceeds SFT's by more than ``evaluate.health_margin`` is marked unhealthy. Writes, one file per row a
person reads (``dvc metrics show --md metrics/evaluate/arms``):

* ``metrics/evaluate/arms/<arm>.json`` — per arm: each verdict's rate (all, usable only), health;
* ``metrics/evaluate/comparisons/<a>_minus_<b>.json`` — per comparison: differences, win rates;
* ``metrics/evaluate/judges.json`` — the judges against labels, truth and gold, and the baselines;
* ``metrics/evaluate/crisis.json`` — the crisis lane: its posts, the worst aligned arm minus SFT, SFT's shares;
* ``metrics/evaluate/crisis_arms/<arm>.json`` — per arm: each safety check's share, and its difference from SFT;
* ``reports/evaluate_replicates.json`` (each replicate's figures), ``plots/evaluate.csv``,
  ``reports/evaluate.md`` and ``reports/evaluate.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from redditess.arms import ALIGNED, RL
from redditess.arms import arms as all_arms
from redditess.arms import pairs as all_pairs
from redditess.config import load_params
from redditess.discrimination import judge_metrics
from redditess.evaluate import (
    CRISIS_CHECKS,
    add_diagnostics,
    arm_metrics,
    comparison_metrics,
    crisis_metrics,
    mark_health,
    score_responses,
    split_crisis,
    verdicts_of,
)
from redditess.io import atomic_path, read_table, write_csv, write_json, write_metrics, write_text
from redditess.replicates import generations_file
from redditess.runtime import InputError, derive_seed, stage
from redditess.split import prompt_text

NAMES = {"gold": "gold (the testbed's oracle)", "judge": "judge (classifier on ensemble labels)",
         "judge2": "second judge (never saw the ensemble labels)"}


def read_generations(seeds: list[int]) -> pd.DataFrame:
    """Every replicate's responses (the trained and trivial arms, and best-of-n), with a
    ``replicate`` column; every replicate must answer the same posts with the same arms."""
    frames = []
    for r in seeds:
        parts = [read_table(generations_file(r), ["post_id", "model", "response", "kl_to_sft"]),
                 read_table(f"data/generations/best_of_n_{r}.parquet", ["post_id", "model", "response", "kl_to_sft"])]
        frames.append(pd.concat(parts, ignore_index=True).assign(replicate=r))
    first = frames[0]
    if "sft" not in set(first.model):
        raise InputError(f"{generations_file(seeds[0])} holds no SFT responses (run `dvc repro generate@{seeds[0]}`)")
    want = sorted(zip(first.post_id, first.model, strict=True))
    for r, g in zip(seeds, frames, strict=True):
        if sorted(zip(g.post_id, g.model, strict=True)) != want:
            raise InputError(f"replicate {r} answers other posts or arms than replicate {seeds[0]} (re-run "
                             f"`dvc repro generate@{r} best_of_n@{r}`: every replicate answers the same test posts)")
    return pd.concat(frames, ignore_index=True)


def modes_line(modes: dict[str, str], source: str) -> str:
    """The report's line on each arm's most common sentence, quoted only from the simulator: on real
    data the stock and longest arms answer with training comments and a policy can repeat one, and
    no real text goes into the repository (reports are committed)."""
    if source != "demo":
        return ("Most common sentences: not quoted (real data: the stock and longest arms answer with real comments, "
                "and a policy can repeat its training text); their shares are in the table.")
    return "Most common sentence per arm (first replicate): " + "; ".join(f"{a}: “{m}”" for a, m in modes.items())


@stage
def main() -> None:
    from sklearn.metrics import balanced_accuracy_score

    from redditess.baselines import fit_length_threshold, fpr_at_tpr, rate_at, word_counts
    from redditess.classifier import load_judge
    from redditess.second_judge import GENERATIONS_LEDGER, load_second_judge, touch_ledger
    from redditess.validity import read_truth

    params = load_params()
    cfg = params.evaluate
    rng = np.random.default_rng(derive_seed(params.seed, "evaluate"))
    gens = read_generations(params.seeds)
    cols = ["post_id", "comment_id", "post_title", "post_body", "comment_body", "label"]
    test = read_table("data/split/test.parquet", cols)
    judge_train = read_table("data/split/judge_train.parquet", cols)
    crisis = read_table("data/split/crisis.parquet", ["post_id", "post_title", "post_body"]).drop_duplicates("post_id")
    texts = pd.concat([test.drop_duplicates("post_id")[["post_id", "post_title", "post_body"]], crisis])
    prompts = texts.drop_duplicates("post_id").set_index("post_id").apply(prompt_text, axis=1)

    scorers = {"judge": load_judge("models/classifier").score}
    second = load_second_judge(params, derive_seed(params.seed, "evaluate:second_judge"))
    touch_ledger(GENERATIONS_LEDGER)
    if second is not None:
        scorers["judge2"] = second.score

    # The arms are compared on the test posts; the crisis lane's posts are checked for safety on their own.
    test_posts = set(test.post_id)
    on_test = gens[gens.post_id.isin(test_posts)]
    scored = add_diagnostics(score_responses(on_test, prompts, scorers, cfg.threshold), prompts, cfg.on_topic_quantile)
    arms = [a for a in all_arms(params.best_of_n.n) if a in set(scored.model)]
    arm_figs, arm_seeds, modes = arm_metrics(scored, arms, cfg.bootstrap, rng)
    mark_health(arm_figs, list(RL), cfg.health_margin)
    pair_figs, pair_seeds = comparison_metrics(scored, all_pairs(params.best_of_n.n), cfg.bootstrap, rng)
    crisis_figs, crisis_seeds = crisis_metrics(gens[gens.post_id.isin(set(crisis.post_id))], arms, list(ALIGNED),
                                               cfg.bootstrap, rng)

    # The judges: on held-out labeled comments (ensemble labels; the truth where there is one), and on
    # the arms' generations against gold.
    truth = read_truth(Path("data/raw/truth.parquet")).rename(columns={"effective": "truth"})
    comments = test.merge(truth, on="comment_id", how="left")
    c_prompts = [prompt_text(r) for r in comments.itertuples()]
    c_words = word_counts(comments.comment_body)
    thr, direction = fit_length_threshold(word_counts(judge_train.comment_body), judge_train.label.astype(int).to_numpy())
    judges: dict[str, float] = {"threshold": cfg.threshold, "baseline_words_threshold": thr, "baseline_words_direction": direction}
    generated = scored.drop_duplicates(["post_id", "response"])
    labels = comments.label.astype(int).to_numpy()
    has_truth = comments.truth.notna().to_numpy()
    # The first judge on the held-out comments; the second judge's figures on them come from its own
    # stage (an LLM judge's ledger keeps one call's answers, so it is asked once per stage).
    prob = scorers["judge"](c_prompts, comments.comment_body.tolist())
    judges.update(judge_metrics(prob, labels, comments.post_id.to_numpy(), c_words, cfg.threshold, cfg.bootstrap, rng, "judge"))
    if has_truth.any():
        judges.update(judge_metrics(prob[has_truth], comments.truth[has_truth].astype(int).to_numpy(),
                                    comments.post_id.to_numpy()[has_truth], c_words[has_truth], cfg.threshold,
                                    cfg.bootstrap, rng, "judge_truth"))
    if "judge2" in scorers:
        stage_figs = json.loads(Path("metrics/second_judge.json").read_text(encoding="utf-8"))
        judges.update({"judge2" + k.removeprefix("judge"): v for k, v in stage_figs.items() if k.startswith("judge_")})
        judges.update({f"judge2_{k}": v for k, v in stage_figs.items() if k.startswith("truth_")})
    for name in scorers:
        decided = generated[generated.gold.notna() & generated[f"p_{name}"].notna()]
        if len(decided) and decided.gold.nunique() == 2:
            judges.update(judge_metrics(decided[f"p_{name}"].to_numpy(), decided.gold.astype(int).to_numpy(),
                                        decided.post_id.to_numpy(), decided.words.to_numpy(), cfg.threshold,
                                        cfg.bootstrap, rng, f"{name}_gold_generations"))
        basis = judges.get(f"{name}_truth_balanced_accuracy", float("nan"))
        if np.isnan(basis):
            basis = judges.get(f"{name}_balanced_accuracy", float("nan"))
        judges[f"{name}_usable"] = float(basis >= cfg.min_judge_balanced_accuracy)
        judges[f"{name}_abstentions_generations"] = int(generated[f"p_{name}"].isna().sum())
    # The word-count rule (fit on the first judge's training comments) on the same comments, and at
    # each judge's own true-positive rate (a judge that calls nothing effective is matched by one that does the same).
    pred = (direction * c_words >= direction * thr).astype(int)
    judges["baseline_words_balanced_accuracy"] = float(balanced_accuracy_score(labels, pred))
    judges["baseline_words_false_positive_rate"] = rate_at(pred, labels, 0)
    if has_truth.any():
        truth_labels = comments.truth[has_truth].astype(int).to_numpy()
        judges["baseline_words_truth_balanced_accuracy"] = float(balanced_accuracy_score(truth_labels, pred[has_truth]))
    for name in scorers:
        if f"{name}_true_positive_rate" in judges:
            judges[f"baseline_words_false_positive_rate_at_{name}_tpr"] = fpr_at_tpr(
                direction * c_words, labels, judges[f"{name}_true_positive_rate"])
        if has_truth.any() and f"{name}_truth_true_positive_rate" in judges:
            judges[f"baseline_words_truth_false_positive_rate_at_{name}_tpr"] = fpr_at_tpr(
                direction * c_words[has_truth], truth_labels, judges[f"{name}_truth_true_positive_rate"])

    with atomic_path("metrics/evaluate") as tmp:
        for arm, figs in arm_figs.items():
            write_metrics(tmp / "arms" / f"{arm}.json", figs)
        for pair, figs in pair_figs.items():
            write_metrics(tmp / "comparisons" / f"{pair}.json", figs)
        write_metrics(tmp / "judges.json", {"posts": int(scored.post_id.nunique()), "replicates": len(params.seeds), **judges})
        crisis_summary, crisis_arms = split_crisis(crisis_figs, arms)
        write_metrics(tmp / "crisis.json", crisis_summary)
        for arm, figs in crisis_arms.items():
            write_metrics(tmp / "crisis_arms" / f"{arm}.json", figs)
    write_json("reports/evaluate_replicates.json", {"replicates": params.seeds, "arms": arm_seeds,
                                                     "comparisons": pair_seeds, "crisis": crisis_seeds})
    primary = verdicts_of(scored)[0]
    plot = pd.DataFrame([{"model": a, "verdict": primary, "effective_rate": f[f"{primary}_rate"], "sd": f[f"{primary}_rate_sd"],
                          "ci_low": f[f"{primary}_rate_ci_low"], "ci_high": f[f"{primary}_rate_ci_high"],
                          **{f"replicate_{r}": v for r, v in zip(params.seeds, arm_seeds[a][f"{primary}_rate"], strict=True)},
                          **{f"{v}_rate": f.get(f"{v}_rate", float("nan")) for v in ("judge", "judge2")}}
                         for a, f in arm_figs.items()])
    write_csv("plots/evaluate.csv", plot, ["model"])
    write_text("reports/evaluate.md", report(arm_figs, arm_seeds, pair_figs, judges, crisis_figs, modes, scored, params))
    figure(arm_figs, arm_seeds, verdicts_of(scored), params.seeds)


def figure(arm_figs: dict, arm_seeds: dict, verdicts: list[str], seeds: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(arm_figs)
    fig, axes = plt.subplots(1, len(verdicts), figsize=(4.2 * len(verdicts), 3.6), sharey=True, squeeze=False)
    for ax, v in zip(axes[0], verdicts, strict=True):
        x = np.arange(len(arms))
        rates = np.array([arm_figs[a][f"{v}_rate"] for a in arms])
        err = np.array([[arm_figs[a][f"{v}_rate"] - arm_figs[a][f"{v}_rate_ci_low"] for a in arms],
                        [arm_figs[a][f"{v}_rate_ci_high"] - arm_figs[a][f"{v}_rate"] for a in arms]])
        ax.bar(x, rates, yerr=np.clip(np.nan_to_num(err), 0, None), capsize=3, color="#4a7bb7" if v == "gold" else "#8c8c8c")
        for i, a in enumerate(arms):  # each replicate's rate: the seed spread the CI includes
            ax.plot([x[i]] * len(arm_seeds[a][f"{v}_rate"]), arm_seeds[a][f"{v}_rate"], "k.", markersize=3)
        ax.set_xticks(x, arms, rotation=45, ha="right", fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_title(NAMES[v], fontsize=8)
    axes[0][0].set_ylabel("effective-support rate")
    title = (f"Effective support per arm by {', '.join(NAMES[v] for v in verdicts)}: mean of {len(seeds)} replicate(s) "
             f"(seeds {seeds}; dots: each replicate), 95% CI over posts and replicates")
    fig.suptitle(title, fontsize=7)
    fig.tight_layout()
    with atomic_path("reports/evaluate.png") as tmp:  # the title travels in the PNG too (tests/test_docs.py reads it)
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None, "Title": title})


def report(arm_figs, arm_seeds, pair_figs, judges, crisis, modes, scored, params) -> str:
    def f(x, sign=False):
        return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else (f"{x:+.3f}" if sign else f"{x:.3f}")

    def fig(d: dict, key: str, sign=False, seeds: dict | None = None) -> str:
        text = f(d.get(key), sign)
        if key + "_sd" in d and not np.isnan(d[key + "_sd"]):
            text += f" ± {d[key + '_sd']:.3f}"
        if key + "_ci_low" in d:
            text += f" [{f(d[key + '_ci_low'], sign)}, {f(d[key + '_ci_high'], sign)}]"
        if seeds is not None and key in seeds:
            text += " (" + ", ".join(f(v, sign) for v in seeds[key]) + ")"
        return text

    verdicts = verdicts_of(scored)
    seeds = params.seeds
    lines = ["# Evaluation", "",
             f"{scored.post_id.nunique()} test posts, answered by every arm of {len(seeds)} replicate(s) of the model stages "
             f"(`seeds`: {seeds}). Verdicts: " + "; ".join(NAMES[v] for v in verdicts) + ". Figures: mean ± sd across replicates "
             f"[95% CI over posts and replicates: the wider of a replicates-then-posts bootstrap ({params.evaluate.bootstrap} "
             "resamples) and a t-interval over the replicates] (each replicate's figure). A response that stops mid-sentence "
             "or is off topic cannot count as support: *usable* rates count only finished, on-topic responses.", "",
             "## Arms", "",
             "| arm | " + " | ".join(f"{v} rate" for v in verdicts) + " | words | cut off | mode sentence | distinct-2 | KL from SFT | healthy |",
             "|---|" + "---:|" * (len(verdicts) + 6)]
    for arm, d in arm_figs.items():
        healthy = "—" if "healthy" not in d else ("yes" if d["healthy"] else "**no**")
        lines.append(f"| {arm} | " + " | ".join(fig(d, f"{v}_rate", seeds=arm_seeds[arm]) for v in verdicts)
                     + f" | {f(d['words'])} | {fig(d, 'truncated_share')} | {fig(d, 'mode_sentence_share')} | "
                       f"{f(d['distinct2'])} | {fig(d, 'kl_to_sft')} | {healthy} |")
    lines += ["", f"Unhealthy: an RL arm whose cut-off or mode-sentence share exceeds SFT's by more than "
              f"{params.evaluate.health_margin}; its gains are more likely reward hacking than support.", "",
              modes_line(modes, params.collect.source), ""]
    for v in verdicts:
        lines += [f"## Comparisons by the {NAMES[v]}", "",
                  "| comparison | difference | usable only | length-controlled | win rate |", "|---|---:|---:|---:|---:|"]
        for pair, d in pair_figs.items():
            lines.append(f"| {pair.replace('_minus_', ' − ')} | {fig(d, f'{v}_difference', True)} | "
                         f"{fig(d, f'{v}_difference_usable', True)} | {fig(d, f'{v}_difference_length_controlled', True)} | "
                         f"{fig(d, f'{v}_win_rate')} |")
        lines.append("")
    lines += ["## The judges", "", "| judge | on | ROC-AUC [95% CI] | balanced accuracy [95% CI] | FPR | word count's ROC-AUC |",
              "|---|---|---:|---:|---:|---:|"]
    for name in [v for v in verdicts if v != "gold"]:
        for suffix, on in (("", "held-out comments, ensemble labels"), ("_truth", "held-out comments, true labels"),
                           ("_gold_generations", "the arms' generations, gold")):
            k = f"{name}{suffix}"
            if f"{k}_roc_auc" in judges:
                lines.append(f"| {name} | {on} | {fig(judges, f'{k}_roc_auc')} | {fig(judges, f'{k}_balanced_accuracy')} | "
                             f"{f(judges.get(f'{k}_false_positive_rate'))} | {f(judges.get(f'{k}_words_roc_auc'))} |")
        lines.append(f"| {name} | usable (balanced accuracy ≥ {params.evaluate.min_judge_balanced_accuracy}, true labels "
                     f"where they exist) | {'yes' if judges[f'{name}_usable'] else '**no**'} | | | |")
    lines += ["", f"The word-count rule (≥ or ≤ {judges['baseline_words_threshold']:g} words, fit on the judge's training "
              f"comments) on the same comments: balanced accuracy {f(judges['baseline_words_balanced_accuracy'])}.", "",
              "## Crisis lane", "",
              f"{crisis['posts']} posts flagged by the crisis lexicon (`redditess.crisis`) that no model trained on. Share of each "
              "arm's answers that acknowledge the person, point to help, contain nothing harmful, and all three:", "",
              "| arm | " + " | ".join(CRISIS_CHECKS) + " |", "|---|" + "---:|" * len(CRISIS_CHECKS)]
    for arm in arm_figs:
        if f"acknowledges_{arm}" in crisis:
            lines.append(f"| {arm} | " + " | ".join(fig(crisis, f"{c}_{arm}") for c in CRISIS_CHECKS) + " |")
    for key in ("safe_min_aligned_minus_sft", "harmless_min_aligned_minus_sft"):
        if key in crisis:
            lines += ["", f"Worst aligned arm minus SFT, {key.split('_')[0]}: {fig(crisis, key, True)}."]
    lines += ["", "![effective-support rate per arm](evaluate.png)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
