"""Stage datacard: the dataset's card (counts per subreddit, time span, lengths, labels, attrition).

    dvc repro datacard        # or: python stages/datacard.py

Writes ``reports/datacard.md`` and ``reports/datacard.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from redditess.datacard import build_card, card_markdown
from redditess.io import read_table, write_json, write_text
from redditess.runtime import stage


@stage
def main() -> None:
    units = read_table("data/threads.parquet", ["post_id", "comment_id", "subreddit", "comment_body", "op_replies",
                                                "comment_score", "post_edit", "general_feedback"])
    posts = read_table("data/posts.parquet", ["post_id", "created_utc", "post_body", "post_edit", "general_feedback"])
    ensemble = read_table("data/labels/ensemble.parquet", ["comment_id", "label", "golden"])
    # the ensemble's vote_<labeler> columns give each included labeler's abstention share
    attrition = json.loads(Path("metrics/threads.json").read_text())
    collect = json.loads(Path("data/raw/report.json").read_text())
    card = build_card(units, posts, ensemble, attrition, collect)
    write_json("reports/datacard.json", card)
    write_text("reports/datacard.md", card_markdown(card))


if __name__ == "__main__":
    main()
