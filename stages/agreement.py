"""Stage agreement: how far the labelers agree, and how far they agree with people.

    dvc repro agreement        # or: python stages/agreement.py

Between every labeler (offline and LLM judges): pairwise Cohen's kappa, Fleiss' kappa,
Krippendorff's alpha, with bootstrap 95% CIs, and agreement per class. With filled sheets in
``human/``: human-human Fleiss' kappa and Krippendorff's alpha, and each labeler's and the
ensemble's agreement with the human majority, per class. Writes ``metrics/agreement.json``,
``reports/agreement.md`` and ``reports/agreement_confusion.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redditess.agreement import agreement, confusion_figure, human_agreement, markdown, versus_reference
from redditess.config import load_params
from redditess.human import load_human
from redditess.io import read_table, write_metrics, write_text
from redditess.runtime import derive_seed, stage


def _f(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


@stage
def main() -> None:
    params = load_params()
    ens = read_table("data/labels/ensemble.parquet", ["comment_id", "label"])
    names = [c.removeprefix("vote_") for c in ens.columns if c.startswith("vote_")]
    votes = ens[[f"vote_{n}" for n in names]].astype("float64").to_numpy()
    seed = derive_seed(params.seed, "agreement")
    metrics, rows = agreement(votes, names, params.agreement.bootstrap, seed)
    report = markdown(metrics, rows, names)
    confusion_figure(votes, names, "reports/agreement_confusion.png")
    report += "\n![confusion matrices](agreement_confusion.png)\n"

    human = load_human(Path("human"))
    if not human.empty:
        human = human[human.index.isin(set(ens.comment_id))]
        hm, majority = human_agreement(human.to_numpy(), params.agreement.bootstrap, seed)
        metrics.update(hm)
        by_id = ens.set_index("comment_id").loc[human.index]
        lines = ["", "## Against people", "",
                 f"{hm['human_annotators']} annotators, {hm['human_comments']} comments. Human-human Fleiss' kappa "
                 f"{_f(hm['human_fleiss_kappa'])} [{_f(hm['human_fleiss_kappa_ci_low'])}, {_f(hm['human_fleiss_kappa_ci_high'])}], "
                 f"Krippendorff's alpha {_f(hm['human_krippendorff_alpha'])} "
                 f"[{_f(hm['human_krippendorff_alpha_ci_low'])}, {_f(hm['human_krippendorff_alpha_ci_high'])}].", "",
                 "| labeler | comments | accuracy vs human majority | kappa | agreement on effective | agreement on ineffective |",
                 "|---|---:|---:|---:|---:|---:|"]
        for name in [*names, "ensemble"]:
            col = by_id["label" if name == "ensemble" else f"vote_{name}"].astype("float64").to_numpy()
            v = versus_reference(col, majority)
            metrics.update({f"vs_human_{k}_{name}": val for k, val in v.items()})
            lines.append(f"| {name} | {v['n']} | {_f(v['accuracy'])} | {_f(v['kappa'])} | "
                         f"{_f(v['positive_agreement'])} | {_f(v['negative_agreement'])} |")
        report += "\n".join(lines) + "\n"
    write_metrics("metrics/agreement.json", metrics)
    write_text("reports/agreement.md", report)


if __name__ == "__main__":
    main()
