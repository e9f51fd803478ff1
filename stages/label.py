"""Stage label@<labeler>: one labeler's verdict on every unit.

    dvc repro label@op_reply        # or: python stages/label.py op_reply

The labeler name is the DVC ``foreach`` item; its settings are ``label.<labeler>`` in params.yaml.
Writes ``data/votes/<labeler>.parquet`` (post_id, comment_id, labeler, label, score, evidence: the rule
that decided each vote).
"""

from __future__ import annotations

import logging
import sys

from redditess.config import load_params
from redditess.guards import require_units
from redditess.io import read_table, write_table
from redditess.labelers import OFFLINE_LABELERS
from redditess.observability import LABELER_SIGNAL, observable_labelers
from redditess.runtime import InputError, stage


@stage
def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in OFFLINE_LABELERS:
        raise InputError(f"usage: stages/label.py <labeler>, labeler one of {sorted(OFFLINE_LABELERS)}")
    name = sys.argv[1]
    params = load_params()
    units = read_table("data/threads.parquet", ["post_id", "comment_id"])
    require_units(len(units), f"label@{name}")
    if not observable_labelers(units, [name])[name]:
        logging.getLogger("label").warning(
            "%s: the data shows no %s signal; every unit abstains and aggregate excludes this labeler",
            name, LABELER_SIGNAL[name])
    labels = OFFLINE_LABELERS[name](units, params.label)
    write_table(f"data/votes/{name}.parquet", labels, ["post_id", "comment_id"])


if __name__ == "__main__":
    main()
