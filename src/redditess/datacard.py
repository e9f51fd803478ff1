"""The data card: what the dataset holds, where it came from and what was dropped on the way."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from redditess.observability import LABELER_SIGNAL, observable_labelers, per_era


def _words(texts) -> dict[str, float]:
    n = np.array([len(str(t).split()) for t in texts], dtype=float)
    if not len(n):
        return {"mean": 0.0, "p10": 0.0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    return {"mean": float(n.mean()), "p10": float(np.percentile(n, 10)), "p50": float(np.percentile(n, 50)),
            "p90": float(np.percentile(n, 90)), "max": float(n.max())}


def _day(ts) -> str | None:
    return None if ts is None or pd.isna(ts) else dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%d")


def build_card(units: pd.DataFrame, posts: pd.DataFrame, ensemble: pd.DataFrame, attrition: dict, collect: dict) -> dict:
    labels = ensemble.set_index("comment_id")["label"]
    per_sub = []
    for sub, group in units.groupby("subreddit", sort=True):
        lab = labels.reindex(group.comment_id)
        per_sub.append({
            "subreddit": sub, "posts": int(group.post_id.nunique()), "comments": len(group),
            "op_replies": int((group.n_op_direct + group.n_op_deeper).sum()),
            "effective": int((lab == 1).sum()), "ineffective": int((lab == 0).sum()), "abstain": int(lab.isna().sum()),
        })
    created = posts.created_utc.dropna()
    voters = sorted(c.removeprefix("vote_") for c in ensemble.columns if c.startswith("vote_"))
    observable = observable_labelers(units, sorted(set(voters) | set(LABELER_SIGNAL)))
    labelers = {
        name: {"observable": ok,
               "abstain_share": float(ensemble[f"vote_{name}"].isna().mean()) if ok and name in voters and len(ensemble) else None}
        for name, ok in sorted(observable.items())
    }
    return {
        "source": collect.get("source"),
        "collected": collect.get("counts", {}),
        "time_span": {"first_post": _day(created.min()) if len(created) else None,
                      "last_post": _day(created.max()) if len(created) else None},
        "totals": {
            "posts": len(posts), "comments": len(units),
            "op_replies_direct": int(units.n_op_direct.sum()), "op_replies_deeper": int(units.n_op_deeper.sum()),
            "posts_with_edit": int((posts.post_edit != "").sum()),
            "posts_with_op_top_level_feedback": int(posts.general_feedback.map(len).gt(0).sum()),
        },
        "lengths_words": {"post": _words(posts.post_body), "comment": _words(units.comment_body),
                          "op_reply": _words([r for rs in units.op_replies for r in rs])},
        "labels": {"effective": int((ensemble.label == 1).sum()), "ineffective": int((ensemble.label == 0).sum()),
                   "abstain": int(ensemble.label.isna().sum()), "golden": int(ensemble.golden.sum())},
        "per_subreddit": per_sub,
        "observability": per_era(units, str(collect.get("source")), posts.set_index("post_id")["created_utc"]),
        "labelers": labelers,
        "attrition": attrition,
    }


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def card_markdown(card: dict) -> str:
    t, span = card["totals"], card["time_span"]
    lines = [
        "# Data card", "",
        ("**These data are simulated.** The `demo` source is the project's seeded testbed (`redditess.sources.demo`): "
         "no person wrote these posts or comments, and each comment's effectiveness was decided from its text by "
         "`redditess.gold`. Nothing measured on it is a finding about Reddit."
         if card["source"] == "demo" else
         f"**These data are real Reddit records** (source `{card['source']}`), pseudonymised and scrubbed as below."), "",
        f"Source: **{card['source']}**. Posts from {span['first_post']} to {span['last_post']}.", "",
        "Authors are pseudonymised with a keyed hash (secret salt, never stored); e-mail addresses, phone numbers,",
        "URLs, handles and u/ mentions are replaced by placeholders; ids in `takedown.txt` are removed.", "",
        "## Totals", "", "| what | count |", "|---|---:|",
        *[f"| {k.replace('_', ' ')} | {v} |" for k, v in t.items()],
        "", "## Labels (ensemble)", "", "| label | comments |", "|---|---:|",
        *[f"| {k} | {v} |" for k, v in card["labels"].items()],
        "", "## Per subreddit", "", "| subreddit | posts | comments | OP replies | effective | ineffective | abstain |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *[f"| {r['subreddit']} | {r['posts']} | {r['comments']} | {r['op_replies']} | {r['effective']} | "
          f"{r['ineffective']} | {r['abstain']} |" for r in card["per_subreddit"]],
        "", "## Signals the source could observe", "",
        "Per source and era (year of the post): whether any post edit or OP top-level feedback, more than one",
        "distinct comment score, and any OP reply was seen. A labeler whose signal is unobservable is excluded",
        "from the ensemble.", "",
        "| source | era | units | edits | scores | OP replies |", "|---|---|---:|---|---|---|",
        *[f"| {r['source']} | {r['era']} | {r['units']} | {_yes(r['edits'])} | {_yes(r['scores'])} | "
          f"{_yes(r['op_replies'])} |" for r in card["observability"]],
        "", "| labeler | observable | abstains on |", "|---|---|---:|",
        *[f"| {k} | {_yes(v['observable'])} | "
          f"{'excluded' if v['abstain_share'] is None else format(v['abstain_share'], '.1%')} |"
          for k, v in card["labelers"].items()],
        "", "## Lengths (words)", "", "| text | mean | p10 | median | p90 | max |", "|---|---:|---:|---:|---:|---:|",
        *[f"| {k} | {v['mean']:.1f} | {v['p10']:.0f} | {v['p50']:.0f} | {v['p90']:.0f} | {v['max']:.0f} |"
          for k, v in card["lengths_words"].items()],
        "", "## Collection", "", "| outcome | records |", "|---|---:|",
        *[f"| {k.replace('_', ' ')} | {v} |" for k, v in sorted(card["collected"].items())],
        "", "## Attrition (threads stage)", "", "| outcome | records |", "|---|---:|",
        *[f"| {k.replace('_', ' ')} | {v} |" for k, v in sorted(card["attrition"].items())],
    ]
    return "\n".join(lines) + "\n"
