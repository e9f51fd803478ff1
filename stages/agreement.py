"""Stage agreement: how far the labelers agree (kappa, alpha, per class, bootstrap CIs).

    dvc repro agreement        # or: python stages/agreement.py

Writes ``metrics/agreement.json`` and ``reports/agreement.md``.
"""

from __future__ import annotations

from redditess.agreement import agreement, markdown
from redditess.config import load_params
from redditess.io import read_table, write_metrics, write_text
from redditess.runtime import derive_seed, stage


@stage
def main() -> None:
    params = load_params()
    names = params.aggregate.precedence
    ens = read_table("data/labels/ensemble.parquet", [f"vote_{n}" for n in names])
    votes = ens[[f"vote_{n}" for n in names]].astype("float64").to_numpy()
    metrics, rows = agreement(votes, names, params.agreement.bootstrap, derive_seed(params.seed, "agreement"))
    write_metrics("metrics/agreement.json", metrics)
    write_text("reports/agreement.md", markdown(metrics, rows, names))


if __name__ == "__main__":
    main()
