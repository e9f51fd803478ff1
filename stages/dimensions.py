"""Stage dimensions: which kinds of support each comment offers, how effective each kind is, and how
effective and ineffective comments differ in wording.

    dvc repro dimensions        # or: python stages/dimensions.py

Tags the five support dimensions and the three EPITOME empathy mechanisms with the offline MiniLM
tagger, its thresholds calibrated per tag on the calibration rows of ``dimensions.labeled``
(human/dimensions_labeled.tsv, guide human/dimensions_guide.md) and measured on its held-out
evaluation rows: precision, recall, and the AUC of the continuous score and of the yes/no tag
against the AUC of the reply's word count (reads the LLM judges' tags too when judges are
configured). Reports the effective rate per dimension with bootstrap 95% CIs; how well each tag's
score and tag tell effective from ineffective comments (AUC, bootstrap 95% CI) next to the word
count's AUC; and linguistic contrasts (length, questions, second/first-person pronouns, gratitude,
hedging) with Cohen's d. Writes ``data/dimensions.parquet`` (per comment and tag source, the
boolean tag ``<source>_<tag>``; for the offline tagger also its continuous score
``offline_<tag>_score``), ``metrics/dimensions.json``, ``reports/dimensions.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from redditess.config import load_params
from redditess.dimension_examples import load_labeled
from redditess.dimensions import (
    TAGS,
    auc_by_tag,
    calibrate,
    contrasts,
    effectiveness_by_dimension,
    evaluate_tagger,
    features,
    tag_and_score,
)
from redditess.io import read_table, write_metrics, write_table, write_text
from redditess.runtime import derive_seed, stage
from redditess.support import DIMENSIONS


def _f(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


@stage
def main() -> None:
    params = load_params()
    cfg = params.dimensions
    rng = np.random.default_rng(derive_seed(params.seed, "dimensions"))
    units = read_table("data/threads.parquet", ["post_id", "comment_id", "comment_body"])
    ens = read_table("data/labels/ensemble.parquet", ["comment_id", "label"]).set_index("comment_id")
    labeled_set = load_labeled(cfg.labeled, TAGS)
    calibration, evaluation = labeled_set["calibration"], labeled_set["evaluation"]
    thresholds = calibrate(calibration) if cfg.calibrate else {t: cfg.threshold for t in TAGS}
    quality = evaluate_tagger(evaluation, thresholds)
    tags, scores = tag_and_score(units.comment_body.tolist(), thresholds)
    sources = {"offline": tags}
    for path in sorted(Path("data/votes").glob("llm_*.parquet")):
        judge = read_table(path, ["comment_id"] + [f"dim_{d}" for d in DIMENSIONS]).set_index("comment_id").loc[units.comment_id]
        sources[path.stem] = pd.DataFrame({d: judge[f"dim_{d}"].fillna(False).to_numpy(bool) for d in DIMENSIONS})

    out = units[["post_id", "comment_id"]].copy()
    for src, t in sources.items():
        for d in t.columns:
            out[f"{src}_{d}"] = t[d].to_numpy(bool)
    for d in scores.columns:  # the continuous score behind each offline tag
        out[f"offline_{d}_score"] = scores[d].to_numpy("float64")
    write_table("data/dimensions.parquet", out, ["post_id", "comment_id"])

    label = ens.label.reindex(units.comment_id).astype("float64").to_numpy()
    labeled = ~np.isnan(label)
    metrics: dict[str, float] = {"comments": len(units), "labeled": int(labeled.sum())}
    lines = ["# Support dimensions", "",
             "## The offline tagger on held-out labelled replies", "",
             f"Thresholds {'calibrated per tag for the best F1 on' if cfg.calibrate else 'fixed, not calibrated on'} "
             f"{len(calibration)} labelled replies; measured on {len(evaluation)} others ({cfg.labeled}, written in the style "
             "of the real threads, guide human/dimensions_guide.md). AUC: of the continuous score, of the yes/no tag, and of "
             "the reply's word count (the baseline a tag must beat).", "",
             "| tag | threshold | precision | recall | AUC score | AUC tag | AUC words | positives |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for tag in TAGS:
        q = quality[tag]
        lines.append(f"| {tag} | {thresholds[tag]:.2f} | {_f(q['precision'])} | {_f(q['recall'])} | {_f(q['auc_score'])} | "
                     f"{_f(q['auc_tag'])} | {_f(q['auc_words'])} | {q['positives']} |")
        metrics[f"tagger_threshold_{tag}"] = thresholds[tag]
        metrics[f"tagger_precision_{tag}"] = float(q["precision"])
        metrics[f"tagger_recall_{tag}"] = float(q["recall"])
        metrics[f"tagger_auc_score_{tag}"] = q["auc_score"]
        metrics[f"tagger_auc_tag_{tag}"] = q["auc_tag"]
        metrics[f"tagger_auc_words_{tag}"] = q["auc_words"]
    lines += ["", "## Effectiveness per tag", "",
              "Effective rate (ensemble label) among labeled comments that offer each kind of support, with a "
              f"bootstrap 95% CI ({cfg.bootstrap} resamples), and among those that do not.", ""]
    for src, t in sources.items():
        rows = effectiveness_by_dimension(t[labeled].reset_index(drop=True), label[labeled], cfg.bootstrap, rng)
        lines += [f"## Tagged by {src}", "", "| dimension | comments | effective rate | 95% CI | rate without it |",
                  "|---|---:|---:|---|---:|"]
        for r in rows:
            lines.append(f"| {r['dimension']} | {r['n']} | {_f(r['effective_rate'])} | [{_f(r['ci_low'])}, {_f(r['ci_high'])}] | "
                         f"{_f(r['effective_rate_without'])} |")
            metrics[f"{src}_share_{r['dimension']}"] = float(t[r["dimension"]].mean())
            metrics[f"{src}_effective_rate_{r['dimension']}"] = r["effective_rate"]
        lines.append("")
    words = np.array([len(t.split()) for t in units.comment_body], dtype=float)
    rows = auc_by_tag(scores[labeled].reset_index(drop=True), tags[labeled].reset_index(drop=True), words[labeled],
                      label[labeled], cfg.bootstrap, rng)
    lines += ["## Effective vs ineffective: score, tag and length", "",
              "AUC of each offline tag's continuous score and of its yes/no tag for telling effective from ineffective "
              f"labeled comments, with a bootstrap 95% CI ({cfg.bootstrap} resamples) for the score, next to the word count's.",
              "", "| tag | AUC score | 95% CI | AUC tag |", "|---|---:|---|---:|"]
    for r in rows:
        lines.append(f"| {r['tag']} | {_f(r['auc'])} | [{_f(r['ci'][0])}, {_f(r['ci'][1])}] | {_f(r.get('auc_tag'))} |")
        key = "words" if r["tag"].startswith("words") else r["tag"]
        metrics[f"effect_auc_{key}"] = r["auc"]
        metrics[f"effect_auc_{key}_ci_low"], metrics[f"effect_auc_{key}_ci_high"] = r["ci"]
        if "auc_tag" in r:
            metrics[f"effect_auc_tag_{key}"] = r["auc_tag"]
    lines.append("")
    feats = features(units.comment_body[labeled].tolist())
    rows = contrasts(feats, label[labeled])
    lines += ["## Linguistic contrasts (effective vs ineffective)", "",
              "| feature | effective mean | ineffective mean | Cohen's d | Mann-Whitney p |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['feature']} | {_f(r['effective_mean'])} | {_f(r['ineffective_mean'])} | {_f(r['cohens_d'])} | "
                     f"{r['p_value']:.2g} |")
        metrics[f"cohens_d_{r['feature']}"] = r["cohens_d"]
    write_metrics("metrics/dimensions.json", metrics)
    write_text("reports/dimensions.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
