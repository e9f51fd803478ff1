"""Stage judge@<i>: one LLM judge's verdict on every unit, through an OpenAI-compatible endpoint.

    dvc repro judge@0        # or: python stages/judge.py <judge name>

The judges are ``label.judges`` in params.yaml (name, model, base_url, api_key_env, ...); DVC makes
one stage per entry. Answers come from the judge's response ledger ``ledgers/<name>.jsonl`` when it
has them (a re-run or a reviewer who pulled it makes no request), from the endpoint otherwise.
Writes ``data/votes/llm_<name>.parquet`` (label, score, and the support dimensions the judge saw),
the ledger, and ``metrics/judge_<name>.json`` (outcomes, retries, estimated and metered cost).
When more than ``max_failed_share`` of the comments got no answer for transport reasons the stage
exits 2 with one line and writes no votes or metrics (DVC does not take it as done); the answers
received are in the ledger, so the next ``dvc repro`` asks only for the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from redditess.config import load_params
from redditess.io import read_table, write_metrics, write_table
from redditess.judges import judge_all, metered_cost, render, request_body, request_key, write_ledger
from redditess.runtime import InputError, derive_seed, stage
from redditess.support import DIMENSIONS


@stage
def main() -> None:
    params = load_params()
    judges = {j.name: j for j in params.label.judges}
    if len(sys.argv) != 2 or sys.argv[1] not in judges:
        raise InputError(f"usage: stages/judge.py <name>, name one of label.judges: {sorted(judges)}")
    cfg = judges[sys.argv[1]]
    if not Path(cfg.prompt).is_file():
        raise InputError(f"params.yaml: label.judges[{cfg.name}].prompt: {cfg.prompt} not found")
    template = Path(cfg.prompt).read_text(encoding="utf-8")
    units = read_table("data/threads.parquet", ["post_id", "comment_id", "post_title", "post_body", "comment_body"])
    keys, bodies = [], {}
    for r in units.itertuples():
        body = request_body(cfg, render(template, r.post_title, r.post_body, r.comment_body))
        key = request_key(body)
        keys.append(key)
        bodies[key] = body
    ledger = Path(f"ledgers/{cfg.name}.jsonl")
    entries, stats = judge_all(cfg, bodies, ledger, derive_seed(params.seed, f"judge:{cfg.name}"))
    # The ledger keeps only the current units' answers: a unit taken down (or filtered out) takes
    # its request and the model's rationale with it (the ledger is a persistent, pushed output).
    current = {k: entries[k] for k in set(keys) if k in entries}
    pruned = len(entries) - len(current)
    if pruned:
        write_ledger(ledger, current)

    answers = [entries.get(k, {}).get("answer") for k in keys]
    labeler = f"llm_{cfg.name}"
    out = pd.DataFrame({
        "post_id": units.post_id, "comment_id": units.comment_id, "labeler": labeler,
        "label": pd.array([None if a is None else int(a["effective"]) for a in answers], dtype="Int8"),
        "score": [float("nan") if a is None else float(a["effective"]) for a in answers],
    })
    for d in DIMENSIONS:
        out[f"dim_{d}"] = pd.array([None if a is None else d in a["dimensions"] for a in answers], dtype="boolean")
    write_table(f"data/votes/{labeler}.parquet", out, ["post_id", "comment_id"])
    counts, est, cur = stats.counts, stats.estimate, cfg.currency.lower()
    write_metrics(f"metrics/judge_{cfg.name}.json", {
        "comments": len(units), "labeled": int(out.label.notna().sum()), "abstained": int(out.label.isna().sum()),
        "requests_sent": stats.requests, "from_ledger": counts["cached"], "answered": counts["answered"],
        "unparseable": counts["unparseable"], "failed": counts["failed"], "ledger_pruned": pruned,
        **{k: v for k, v in sorted(counts.items()) if k.startswith("retry_")},
        # The estimate made before the first request, next to what the endpoint metered (currency
        # in the key: metrics are numbers).
        f"cost_estimate_{cur}": est["cost"], f"cost_retry_allowance_{cur}": est["retry_allowance"],
        f"cost_metered_{cur}": metered_cost(cfg, stats), "estimate_completion_tokens_per_answer": est["completion_tokens_per_answer"],
        "metered_prompt_tokens": stats.prompt_tokens, "metered_completion_tokens": stats.completion_tokens,
        "concurrency_window_min": stats.window_min,
    })


if __name__ == "__main__":
    main()
