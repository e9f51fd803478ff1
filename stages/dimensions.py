"""Stage dimensions: which kinds of support each comment offers, how effective each kind is, and how
effective and ineffective comments differ in wording.

    dvc repro dimensions        # or: python stages/dimensions.py

Tags the five support dimensions and the three EPITOME empathy mechanisms with the offline MiniLM
tagger, its thresholds calibrated per tag on written labelled sentences and its precision and recall
per tag measured on a held-out set of them (and reads the LLM judges' tags when judges are
configured); reports the effective rate per dimension with bootstrap 95% CIs and
linguistic contrasts (length, questions, second/first-person pronouns, gratitude, hedging) with
Cohen's d. Writes ``data/dimensions.parquet``, ``metrics/dimensions.json``, ``reports/dimensions.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from redditess.config import load_params
from redditess.dimension_examples import CALIBRATION, EVALUATION
from redditess.dimensions import TAGS, calibrate, contrasts, effectiveness_by_dimension, evaluate_tagger, features, tag_dimensions
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
    thresholds = calibrate(CALIBRATION) if cfg.calibrate else {t: cfg.threshold for t in TAGS}
    quality = evaluate_tagger(EVALUATION, thresholds)
    tags = tag_dimensions(units.comment_body.tolist(), cfg.threshold, thresholds=thresholds)
    sources = {"offline": tags}
    for path in sorted(Path("data/votes").glob("llm_*.parquet")):
        judge = read_table(path, ["comment_id"] + [f"dim_{d}" for d in DIMENSIONS]).set_index("comment_id").loc[units.comment_id]
        sources[path.stem] = pd.DataFrame({d: judge[f"dim_{d}"].fillna(False).to_numpy(bool) for d in DIMENSIONS})

    out = units[["post_id", "comment_id"]].copy()
    for src, t in sources.items():
        for d in t.columns:
            out[f"{src}_{d}"] = t[d].to_numpy(bool)
    write_table("data/dimensions.parquet", out, ["post_id", "comment_id"])

    label = ens.label.reindex(units.comment_id).astype("float64").to_numpy()
    labeled = ~np.isnan(label)
    metrics: dict[str, float] = {"comments": len(units), "labeled": int(labeled.sum())}
    lines = ["# Support dimensions", "",
             "## The offline tagger on held-out written examples", "",
             f"Thresholds {'calibrated per tag for the best F1 on' if cfg.calibrate else 'fixed, not calibrated on'} "
             f"{len(CALIBRATION)} labelled sentences; precision and recall on {len(EVALUATION)} others "
             "(src/redditess/dimension_examples.py).", "",
             "| tag | threshold | precision | recall | positives |", "|---|---:|---:|---:|---:|"]
    for tag in TAGS:
        q = quality[tag]
        lines.append(f"| {tag} | {thresholds[tag]:.2f} | {_f(q['precision'])} | {_f(q['recall'])} | {q['positives']} |")
        metrics[f"tagger_threshold_{tag}"] = thresholds[tag]
        metrics[f"tagger_precision_{tag}"] = float(q["precision"])
        metrics[f"tagger_recall_{tag}"] = float(q["recall"])
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
