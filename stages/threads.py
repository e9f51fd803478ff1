"""Stage threads: the study's units (post -> top-level comment -> OP replies) with the filters.

    dvc repro threads        # or: python stages/threads.py

Reads ``data/raw/`` (already pseudonymised and scrubbed by collect); writes ``data/threads.parquet``
(one row per kept top-level comment), ``data/posts.parquet`` (one row per kept post),
``metrics/threads.json`` (the attrition counts) and ``reports/threads.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

from redditess.config import load_params
from redditess.guards import require_threads
from redditess.io import read_jsonl, write_metrics, write_table, write_text
from redditess.privacy import check_salt, pseudonym, salt_from_env
from redditess.runtime import InputError, stage
from redditess.threads import build_units

RAW = Path("data/raw")


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
    submissions = list(read_jsonl(RAW / "RS.ndjson"))
    comments = list(read_jsonl(RAW / "RC.ndjson"))
    if filters.require_edited_post and submissions and not any(s.get("edited") is not None for s in submissions):
        raise InputError(f"threads: threads.filters.require_edited_post is true but none of the {len(submissions)} "
                         f"submissions in {RAW / 'RS.ndjson'} records whether it was edited ({source} source); "
                         "set it to false for this source")
    units, posts, attrition = build_units(submissions, comments, filters, bots)
    require_threads(len(posts), len(units), attrition.as_metrics())
    write_table("data/threads.parquet", units, ["post_id", "comment_id"])
    write_table("data/posts.parquet", posts, ["post_id"])
    metrics = attrition.as_metrics()
    metrics.update(posts=len(posts), units=len(units), units_with_op_reply=int((units.n_op_direct + units.n_op_deeper > 0).sum()))
    write_metrics("metrics/threads.json", metrics)
    write_text(
        "reports/threads.md",
        f"# Threads\n\n{len(posts)} posts, {len(units)} top-level comments (units) kept from "
        f"{attrition.records_in} records ({source} source).\n\n## Attrition\n\n{attrition.markdown()}",
    )


if __name__ == "__main__":
    main()
