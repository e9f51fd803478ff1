"""Stage threads: the study's units (post -> top-level comment -> OP replies) with the filters.

    dvc repro threads        # or: python stages/threads.py

Reads ``data/raw/`` (already pseudonymised and scrubbed by collect); writes ``data/threads.parquet``
(one row per kept top-level comment), ``data/posts.parquet`` (one row per kept post),
``metrics/threads.json`` (the attrition counts) and ``reports/threads.md``. Built out of core
(``redditess.threads.build_units_out_of_core``): memory stays flat in the number of records, DuckDB
spilling to the stage's scratch folder past ``threads.memory_mb``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from redditess.config import load_params
from redditess.guards import require_threads
from redditess.io import atomic_path, write_metrics, write_text
from redditess.privacy import check_salt, pseudonym, salt_from_env
from redditess.runtime import InputError, scratch_dir, stage
from redditess.threads import build_units_out_of_core

RAW = Path("data/raw")


def _records_edits(rs: Path) -> bool:
    """Whether any submission has an ``edited`` value (or there are none), a row group at a time."""
    pf = pq.ParquetFile(rs)
    return pf.metadata.num_rows == 0 or any(
        pf.read_row_group(i, columns=["edited"]).column(0).null_count < pf.metadata.row_group(i).num_rows
        for i in range(pf.num_row_groups))


@stage
def main() -> None:
    params = load_params()
    filters = params.threads.filters
    report = json.loads((RAW / "report.json").read_text())
    source = report["source"]
    salt = salt_from_env(params.collect.salt_env, source)
    # the bot filter compares pseudonyms: under another salt than collect's it would silently match nothing
    check_salt(salt, report.get("salt_fingerprint"), params.collect.salt_env, str(RAW / "report.json"))
    bots = {pseudonym(b, salt) for b in filters.bot_authors}
    rs, rc = RAW / "RS.parquet", RAW / "RC.parquet"
    for path in (rs, rc):
        if not path.exists():
            raise InputError(f"threads: {path} is missing (run collect: dvc repro collect)")
    if filters.require_edited_post and not _records_edits(rs):
        n = pq.ParquetFile(rs).metadata.num_rows
        raise InputError(f"threads: threads.filters.require_edited_post is true but none of the {n} "
                         f"submissions in {rs} records whether it was edited ({source} source); "
                         "set it to false for this source")
    with atomic_path("data/threads.parquet") as units_tmp, atomic_path("data/posts.parquet") as posts_tmp:
        attrition, n_posts, n_units, with_op = build_units_out_of_core(
            rs, rc, filters, bots, units_tmp, posts_tmp, scratch_dir() / "duckdb", params.threads.memory_mb)
        # inside the atomic paths: a stop here leaves neither file behind
        require_threads(n_posts, n_units, attrition.as_metrics())
    metrics = attrition.as_metrics()
    metrics.update(posts=n_posts, units=n_units, units_with_op_reply=with_op)
    write_metrics("metrics/threads.json", metrics)
    write_text(
        "reports/threads.md",
        f"# Threads\n\n{n_posts} posts, {n_units} top-level comments (units) kept from "
        f"{attrition.records_in} records ({source} source).\n\n## Attrition\n\n{attrition.markdown()}",
    )


if __name__ == "__main__":
    main()
