"""From raw records to the study's units: post -> top-level comment -> the OP's replies.

One unit per top-level comment of a kept post, carrying the post, the comment, its score, the OP's
replies anywhere in that comment's subtree (direct replies and deeper ones counted apart), and the
post's general feedback (the OP's "EDIT:"/"Update:" text and the OP's own top-level comments).

Every input record is accounted for exactly once in :class:`Attrition`: kept as a post or unit,
used as an OP reply or general feedback, or dropped with a named reason; the identity
``records_in == kept + used + sum(dropped)`` is checked before anything is written.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pandas as pd

from redditess.config import FilterConfig
from redditess.privacy import DELETED

EDIT_LINE = re.compile(
    r"^[\s>*_#]*(?:edit|update|upd|eta)\b\s*\d*\s*(?:\([^)]*\))?\s*[:.\-]\s*[*_]*\s*(?P<text>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
BOT_BODY = re.compile(r"\bI(?: am|'m) a bot\b|\bbeep boop\b|this action was performed automatically", re.I)
SPAM = re.compile(
    r"\b(?:promo|discount) code\b|\buse code [A-Z0-9]{3,}|\d+% off\b|\bfree shipping\b"
    r"|\bclick the link in my (?:profile|bio)\b|\bearn money from home\b|\bbuy (?:our|my)\b"
    r"|\bcheck out my (?:app|channel|podcast|store|shop)\b",
    re.I,
)
# A dissertation or thesis alone is an ordinary worry of a support post; it marks recruitment only
# next to what a study asks of readers (a survey, participants, an interview) in the same sentence.
SURVEY = re.compile(
    r"\bsurvey\b|\bquestionnaire\b|\bparticipants? (?:needed|wanted)\b|\brecruiting\b"
    r"|\[academic\]|\bresearch study\b"
    r"|\b(?:dissertation|thesis)\b[^.?!\n]*\b(?:participants?|respondents?|interview(?:ee)?s?|take part)\b"
    r"|\bhelp me(?: out)? with my (?:dissertation|thesis|research)\b|\btake \d+ minutes out of your\b",
    re.I,
)


@dataclass
class Attrition:
    records_in: int = 0
    kept: Counter = field(default_factory=Counter)
    used: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)

    def check(self) -> None:
        total = sum(self.kept.values()) + sum(self.used.values()) + sum(self.dropped.values())
        if total != self.records_in:
            raise AssertionError(f"attrition does not add up: {self.records_in} in, {total} accounted for")

    def as_metrics(self) -> dict[str, int]:
        out = {"records_in": self.records_in}
        out.update({f"kept_{k}": v for k, v in self.kept.items()})
        out.update({f"used_{k}": v for k, v in self.used.items()})
        out.update({f"dropped_{k}": v for k, v in self.dropped.items()})
        return dict(sorted(out.items()))

    def markdown(self) -> str:
        rows = [("records in", self.records_in, "")]
        rows += [(f"kept: {k}", v, "") for k, v in sorted(self.kept.items())]
        rows += [(f"used: {k}", v, "") for k, v in sorted(self.used.items())]
        rows += [(f"dropped: {k}", v, "") for k, v in sorted(self.dropped.items())]
        body = "\n".join(f"| {name} | {count} |" for name, count, _ in rows)
        return "| outcome | records |\n|---|---:|\n" + body + "\n"


def split_edit(selftext: str) -> tuple[str, str]:
    """Split a post body into (body without edit lines, the edit text)."""
    edits = [m.group("text").strip() for m in EDIT_LINE.finditer(selftext)]
    body = EDIT_LINE.sub("", selftext).strip()
    return body, " ".join(e for e in edits if e)


def _is_deleted(author, body) -> bool:
    return author in DELETED or author is None or (body or "").strip() in DELETED


def _is_bot(rec: dict, bots: set[str], body: str) -> bool:
    return str(rec.get("author", "")).lower() in bots or bool(BOT_BODY.search(body))


def _is_op(rec: dict, op: str | None) -> bool:
    if "is_submitter" in rec and rec["is_submitter"] is not None:
        return bool(rec["is_submitter"])
    return op is not None and op not in DELETED and rec.get("author") == op


def _score(rec: dict) -> int | None:
    value = rec.get("score")
    return None if value is None else int(value)


def build_units(
    submissions: list[dict], comments: list[dict], filters: FilterConfig, bot_authors: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame, Attrition]:
    """Apply the RedditESS filters; return (units, posts, attrition).

    Records arrive pseudonymised and scrubbed (collect does that), so ``bot_authors`` holds the
    pseudonyms of ``filters.bot_authors`` under the same salt.
    """
    bots = {b.lower() for b in bot_authors}
    subs = {s.lower() for s in filters.subreddits}
    att = Attrition(records_in=len(submissions) + len(comments))

    by_post: dict[str, list[dict]] = defaultdict(list)
    posts = {s["id"]: s for s in submissions}
    for c in comments:
        post_id = str(c["link_id"])[3:]
        if post_id not in posts:
            att.dropped["comment_orphan_no_post"] += 1
        else:
            by_post[post_id].append(c)

    unit_rows, post_rows = [], []
    for post_id in sorted(posts):
        post = posts[post_id]
        thread = by_post.get(post_id, [])
        title, selftext = post.get("title") or "", post.get("selftext") or ""
        reason = None
        if subs and str(post.get("subreddit", "")).lower() not in subs:
            reason = "subreddit_excluded"
        elif filters.drop_deleted_posts and _is_deleted(post.get("author"), selftext):
            reason = "deleted_or_removed"
        elif filters.drop_bots and _is_bot(post, bots, selftext):
            reason = "bot"
        elif filters.drop_surveys and SURVEY.search(f"{title}\n{selftext}"):
            reason = "survey_or_recruitment"
        elif filters.require_edited_post and not post.get("edited"):
            reason = "not_edited"
        if reason:
            att.dropped[f"post_{reason}"] += 1
            att.dropped[f"comment_post_{reason}"] += len(thread)
            continue

        op = post.get("author")
        children: dict[str, list[dict]] = defaultdict(list)
        for c in thread:
            children[str(c["parent_id"])].append(c)
        reached: set[str] = set()
        units, general = [], []
        local_drop: Counter = Counter()
        local_used: Counter = Counter()
        for top in sorted(children.get(f"t3_{post_id}", []), key=lambda r: r["id"]):
            reached.add(top["id"])
            body = top.get("body") or ""
            subtree = _subtree(top, children)
            reached.update(r["id"] for r, _ in subtree)
            if _is_op(top, op):
                general.append(body)
                local_used["comment_op_general_feedback"] += 1
                local_drop["comment_under_op_comment"] += len(subtree)
                continue
            drop = None
            if filters.drop_bots and _is_bot(top, bots, body):
                drop = "bot"
            elif filters.drop_spam and SPAM.search(body):
                drop = "spam"
            elif filters.drop_deleted_comments and _is_deleted(top.get("author"), body):
                drop = "deleted_or_removed"
            if drop:
                local_drop[f"comment_{drop}"] += 1
                local_drop[f"comment_parent_{drop}"] += len(subtree)
                continue
            op_replies = [(r, d) for r, d in subtree if _is_op(r, op) and not _is_deleted(r.get("author"), r.get("body"))]
            local_drop["comment_reply_not_by_op"] += len(subtree) - len(op_replies)
            units.append((top, op_replies))

        detached = len(thread) - len(reached)
        n_with_op = sum(1 for _, replies in units if replies)
        if n_with_op < filters.min_op_replies:
            att.dropped["post_too_few_op_replies"] += 1
            att.dropped["comment_post_too_few_op_replies"] += len(thread)
            continue
        att.dropped.update(local_drop)
        att.used.update(local_used)
        att.dropped["comment_detached_parent_missing"] += detached
        att.kept["post"] += 1

        body, edit = split_edit(selftext)
        author = op if op and op not in DELETED else "[deleted]"
        post_rows.append(
            dict(
                post_id=post_id, subreddit=str(post.get("subreddit", "")), created_utc=post.get("created_utc"),
                post_author=author, post_title=title, post_body=body, post_edit=edit,
                general_feedback=general, post_score=_score(post), n_units=len(units),
            )
        )
        for top, replies in units:
            att.kept["comment_unit"] += 1
            att.used["comment_op_reply"] += len(replies)
            unit_rows.append(
                dict(
                    post_id=post_id, comment_id=top["id"], subreddit=str(post.get("subreddit", "")),
                    post_author=author, post_title=title, post_body=body, post_edit=edit,
                    general_feedback=general, comment_author=top.get("author") or "[deleted]",
                    comment_body=top.get("body") or "", comment_score=_score(top),
                    comment_created_utc=top.get("created_utc"),
                    op_replies=[r.get("body") or "" for r, _ in replies],
                    op_reply_depths=[d for _, d in replies],
                    n_op_direct=sum(1 for _, d in replies if d == 1),
                    n_op_deeper=sum(1 for _, d in replies if d > 1),
                )
            )
    att.dropped = Counter({k: v for k, v in att.dropped.items() if v})
    att.used = Counter({k: v for k, v in att.used.items() if v})
    att.check()
    units_df = pd.DataFrame(unit_rows, columns=UNIT_COLUMNS)
    posts_df = pd.DataFrame(post_rows, columns=POST_COLUMNS)
    for df, cols in ((units_df, ("comment_score", "comment_created_utc")), (posts_df, ("created_utc", "post_score"))):
        for col in cols:
            df[col] = df[col].astype("Int64")  # nullable: real dumps may lack scores or times
    return units_df, posts_df, att


def _subtree(top: dict, children: dict[str, list[dict]]) -> list[tuple[dict, int]]:
    """Every reply under ``top`` with its depth (1 = direct reply), in id order."""
    out, stack = [], [(c, 1) for c in children.get(f"t1_{top['id']}", [])]
    while stack:
        rec, depth = stack.pop()
        out.append((rec, depth))
        stack.extend((c, depth + 1) for c in children.get(f"t1_{rec['id']}", []))
    return sorted(out, key=lambda rd: (rd[1], rd[0]["id"]))


UNIT_COLUMNS = [
    "post_id", "comment_id", "subreddit", "post_author", "post_title", "post_body", "post_edit",
    "general_feedback", "comment_author", "comment_body", "comment_score", "comment_created_utc",
    "op_replies", "op_reply_depths", "n_op_direct", "n_op_deeper",
]
POST_COLUMNS = [
    "post_id", "subreddit", "created_utc", "post_author", "post_title", "post_body", "post_edit",
    "general_feedback", "post_score", "n_units",
]
